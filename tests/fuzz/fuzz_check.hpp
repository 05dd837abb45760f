// What the fuzz targets share: a failed property is a crash that libFuzzer records.
#pragma once

#include <cstdio>
#include <cstdlib>

// Aborts with `what` when `condition` is false; an invariant the code promises, not an
// input check.
#define KPID_FUZZ_CHECK(condition, what)                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "fuzz invariant failed: %s (%s)\n", what, #condition); \
      std::abort();                                                               \
    }                                                                             \
  } while (false)
