#pragma once
// Small helpers to append JSON text to a std::string without a DOM: used on the
// hot path (outgoing events, step logs) where building a rapidjson::Document
// would allocate per node.
#include <cstdint>
#include <string>
#include <string_view>

namespace hub::common {

// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view s);
void AppendJsonInt(std::string& out, int64_t v);

// Whether the JSON text nests arrays/objects deeper than `max_depth` (brackets
// inside strings do not count).  Iterative, so it is safe on any input; used
// before handing stored JSON to RapidJSON's recursive parser and writers.
bool JsonNestsDeeperThan(std::string_view json, int max_depth);

// Offset of the first byte that is not well-formed UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF included), or npos.
size_t InvalidUtf8At(std::string_view s);

}  // namespace hub::common
