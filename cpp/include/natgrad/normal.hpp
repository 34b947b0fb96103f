// Standard normal draws at memory speed, as a pure function of a 64-bit key (no hidden state):
// the Python layer draws the key from the user's numpy Generator, so a run stays reproducible from
// its seed and a checkpoint of the Generator carries everything.
//
// Words: eight xoshiro256++ generators side by side (Blackman & Vigna, "Scrambled linear
// pseudorandom number generators", ACM TOMS 47(4), 2021), lane l seeded with the SplitMix64 words
// splitmix64(key, 4l .. 4l + 3) (Steele, Lea & Flood, OOPSLA 2014); output i of the stream takes
// word i of the interleaved lanes (lane i mod 8, step i div 8).
//
// Normals: the ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000) with 256 layers (tables
// in normal_tables.inc, from tools/normal_tables.py). Output i takes its word w: layer k = w & 255,
// sign = bit 8, rabs = w >> 12 (52 bits), x = rabs W[k]; it is accepted when rabs < K[k] (about
// 98.8 % of outputs). Otherwise the wedge test or the tail (x > r) decides, drawing further words
// splitmix64(mix(key ^ salt), (i << 24) + j), j = 0, 1, ..., and a rejected candidate is replaced
// by the next such word. ln and exp of the slow path are fdlibm's polynomials evaluated with +,
// -, *, / only (correctly rounded in IEEE arithmetic) and no fused multiply-add (normal.cpp is
// compiled with -ffp-contract=off), so the output is bit-identical on every instruction-set
// level, scalar or vectorised, and to the NumPy twin natgrad.reference.random.
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

// out[0 .. rows * cols), row-major, for mirrored sampling: rows h .. 2h - 1 (h = rows / 2) are
// the negated rows 0 .. h - 1, the other rows the stream's normals at their own positions (the
// rows of fill_standard_normal(key, out, rows * cols) that are kept). For even rows only the
// first h rows' normals are drawn.
void fill_mirrored_standard_normal(std::uint64_t key, double* out, std::size_t rows,
                                   std::size_t cols);

// A (rows, cols) matrix of the stream's first rows * cols normals, in row-major order.
RowMatrixXd standard_normal_matrix(std::uint64_t key, Eigen::Index rows, Eigen::Index cols);

}  // namespace natgrad
