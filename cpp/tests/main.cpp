// Test runner: `pinnbilo_tests` runs everything, `pinnbilo_tests GROUP` one group,
// `pinnbilo_tests GROUP.NAME` one test, `pinnbilo_tests --list` lists them.
#include <cstdio>
#include <exception>
#include <string>

#include "check.hpp"

int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  if (filter == "--list") {
    for (const auto& c : check::registry()) std::printf("%s.%s\n", c.group.c_str(), c.name.c_str());
    return 0;
  }
  int ran = 0;
  long failed_tests = 0;
  for (const auto& c : check::registry()) {
    const std::string full = c.group + "." + c.name;
    if (!filter.empty() && filter != c.group && filter != full) continue;
    ++ran;
    check::state().printed = 0;
    const long before = check::state().failures;
    std::printf("[ RUN  ] %s\n", full.c_str());
    std::fflush(stdout);
    try {
      c.fn();
    } catch (const std::exception& e) {
      check::fail(std::string("unexpected exception: ") + e.what(), full.c_str(), 0);
    } catch (...) {
      check::fail("unexpected non-standard exception", full.c_str(), 0);
    }
    const bool ok = check::state().failures == before;
    if (!ok) ++failed_tests;
    std::printf("[ %s ] %s\n", ok ? " OK " : "FAIL", full.c_str());
    std::fflush(stdout);
  }
  if (ran == 0) {
    std::printf("no test matches '%s'\n", filter.c_str());
    return 2;
  }
  std::printf("%d tests, %ld failed, %ld failed checks\n", ran, failed_tests, check::state().failures);
  return check::state().failures == 0 ? 0 : 1;
}
