// The executable is only the entry point; worker/ is the composition root.
#include <string>
#include <vector>

#include "worker/cli.hpp"

int main(int argc, char** argv) {
  return hub::worker::Main(std::vector<std::string>(argv, argv + argc));
}
