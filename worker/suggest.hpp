#pragma once
// "Did you mean" for mistyped subcommands and flags.  Pure.
#include <string>
#include <vector>

namespace hub::worker {

// The candidate closest to `typed` by edit distance (insertions, deletions,
// substitutions, adjacent swaps), when it is close enough to be a typo (at
// most a third of its length, at least 1, at most 3 edits, ignoring a leading
// "--"), or the one that `typed` is a prefix of; "" when none is.
std::string Suggest(const std::string& typed, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" or "" — the tail of an error message.
std::string DidYouMean(const std::string& typed, const std::vector<std::string>& candidates);

}  // namespace hub::worker
