// Standard normal draws at memory speed, as a pure function of a 64-bit key (no hidden state):
// the Python layer draws the key from the user's numpy Generator, so a run stays reproducible from
// its seed and a checkpoint of the Generator carries everything.
//
// Words: splitmix64(key, i) = mix(key + (i + 1) gamma) is SplitMix64's output i for the seed key
// (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): a
// counter-based generator, so every word is computed on its own and the loop vectorises.
//
// Normals: the ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000) with 256 layers (tables
// in normal_tables.inc, from tools/normal_tables.py). Output i takes word w = splitmix64(key, i):
// layer k = w & 255, sign = bit 8, rabs = w >> 12 (52 bits), x = rabs W[k]; it is accepted when
// rabs < K[k] (about 98.8 % of outputs). Otherwise the wedge test or the tail (x > r) decides,
// drawing further words splitmix64(mix(key ^ salt), (i << 24) + j), j = 0, 1, ..., and a rejected
// candidate is replaced by the next such word. ln and exp of the slow path are fdlibm's
// polynomials evaluated with +, -, *, / only (correctly rounded in IEEE arithmetic) and no fused
// multiply-add (normal.cpp is compiled with -ffp-contract=off), so the output is bit-identical on
// every instruction-set level, scalar or vectorised, and to the NumPy twin
// natgrad.reference.random.
#pragma once

#include <cstddef>
#include <cstdint>

#include "natgrad/types.hpp"

namespace natgrad {

// Word `index` of the stream of `key` (SplitMix64's output number `index` for the seed key).
std::uint64_t splitmix64(std::uint64_t key, std::uint64_t index);

// out[0 .. count) = the first `count` normals of the stream of `key` described above.
void fill_standard_normal(std::uint64_t key, double* out, std::size_t count);

// Refuses (std::invalid_argument) a negative shape or one of 2^40 entries or more.
void check_standard_normal_shape(Eigen::Index rows, Eigen::Index cols);

// A (rows, cols) matrix of the stream's first rows * cols normals, in row-major order.
RowMatrixXd standard_normal_matrix(std::uint64_t key, Eigen::Index rows, Eigen::Index cols);

}  // namespace natgrad
