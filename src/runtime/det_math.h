// Elementary functions built from IEEE-754 double +, -, *, / and exact scaling (frexp, ldexp)
// only. The runtime is compiled with -ffp-contract=off, so these give bit-identical results on
// every CPU and with every C library, unlike std::exp / std::log, whose last bit may depend on
// the libm version and on the code path it picks for the CPU (e.g. glibc's FMA variants). Used
// where a runtime result depends on exp or log at run time (the beam search, beam_search.cc).
// Accuracy: a few units in the last place (tests/test_beam_search.cc checks relative error
// <= 5e-16, about two units in the last place, against std::exp / std::log).
#pragma once

namespace bytelite::rt {

/// e^x. NaN for NaN, +inf above ~709.78, 0 below ~-745.13, subnormal results in between.
double det_exp(double x);

/// ln x. NaN for x < 0 or NaN, -inf for 0, +inf for +inf.
double det_log(double x);

}  // namespace bytelite::rt
