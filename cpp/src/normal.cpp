// SplitMix64 words and ziggurat normals (natgrad/normal.hpp). The fast path is one branch-free
// loop over a chunk, which the compiler vectorises at every ISA level; the rare slow path is
// scalar. Only IEEE-exact operations are used (this file is compiled with -ffp-contract=off), so
// the output is the same bit for bit at every level and in the NumPy twin.
#include "natgrad/normal.hpp"

#include <algorithm>
#include <cstring>

namespace natgrad {
namespace {

#include "normal_tables.inc"

// SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; Vigna's splitmix64.c): the Weyl increment and
// the two multipliers of the finaliser.
constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;
constexpr std::uint64_t kMix1 = 0xBF58476D1CE4E5B9ull;
constexpr std::uint64_t kMix2 = 0x94D049BB133111EBull;
// The seed of the slow path's words is mix(key ^ kSlowSalt): a stream of its own.
constexpr std::uint64_t kSlowSalt = 0xD1B54A32D192ED03ull;

inline std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * kMix1;
    z = (z ^ (z >> 27)) * kMix2;
    return z ^ (z >> 31);
}

inline double from_bits(std::uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

inline std::uint64_t to_bits(double d) {
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
}

constexpr std::uint64_t kOneBits = 0x3FF0000000000000ull;    // 1.0
constexpr std::uint64_t kMantissa = 0x000FFFFFFFFFFFFFull;   // the 52 fraction bits
constexpr std::uint64_t kTwo52Bits = 0x4330000000000000ull;  // 2^52: from_bits(it | k) = 2^52 + k
constexpr double kTwo52 = 4503599627370496.0;
constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52: (y + it) - it rounds y to even
constexpr std::uint64_t kSignBit = 0x8000000000000000ull;

// The 52-bit integer k as a double (exact, and vectorisable without a 64-bit conversion).
inline double from_u52(std::uint64_t k) { return from_bits(k | kTwo52Bits) - kTwo52; }

// u in (0, 1] from the top 52 bits of a word: 1 - k 2^-52 (exact by Sterbenz's lemma).
inline double unit_open0(std::uint64_t w) { return 2.0 - from_bits((w >> 12) | kOneBits); }

// fdlibm e_log.c: ln 2 split so that e * kLn2Hi is exact, and the minimax coefficients of
// (ln(1 + f) - f + f^2 / 2) in s = f / (2 + f).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kLg1 = 6.666666666666735130e-01;
constexpr double kLg2 = 3.999999999940941908e-01;
constexpr double kLg3 = 2.857142874366239149e-01;
constexpr double kLg4 = 2.222219843214978396e-01;
constexpr double kLg5 = 1.818357216161805012e-01;
constexpr double kLg6 = 1.531383769920937332e-01;
constexpr double kLg7 = 1.479819860511658591e-01;

// ln(u) for a positive normal double u: u = 2^e m with m in [sqrt(2)/2, sqrt(2)] (fdlibm e_log.c).
inline double log_positive(double u) {
    constexpr std::uint64_t kSqrt2Fraction = 0x6A09E667F3BCDull;  // sqrt(2) = 0x1.6A09E667F3BCDp0
    const std::uint64_t bits = to_bits(u);
    const std::uint64_t fraction = bits & kMantissa;
    const std::uint64_t high = fraction > kSqrt2Fraction ? 1 : 0;  // m in (sqrt 2, 2): halve it
    const double m = from_bits(fraction | (kOneBits - (high << 52)));
    const double e = from_u52((bits >> 52) + high) - 1023.0;  // exact
    const double f = m - 1.0;
    const double s = f / (2.0 + f);
    const double z = s * s;
    const double w = z * z;
    const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
    const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
    const double r = t2 + t1;
    const double hfsq = 0.5 * f * f;
    return e * kLn2Hi - ((hfsq - (s * (hfsq + r) + e * kLn2Lo)) - f);
}

// fdlibm e_exp.c: exp(x) for x in [-708, 0], as 2^k exp(t) with |t| <= ln(2) / 2.
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kP1 = 1.66666666666666019037e-01;
constexpr double kP2 = -2.77777777770155933842e-03;
constexpr double kP3 = 6.61375632143793436117e-05;
constexpr double kP4 = -1.65339022054652515390e-06;
constexpr double kP5 = 4.13813679705723846039e-08;

inline double exp_nonpositive(double x) {
    const double k = (x * kInvLn2 + kRoundMagic) - kRoundMagic;  // round to nearest
    const double hi = x - k * kLn2Hi;                            // exact
    const double lo = k * kLn2Lo;
    const double t = hi - lo;
    const double tt = t * t;
    const double c = t - tt * (kP1 + tt * (kP2 + tt * (kP3 + tt * (kP4 + tt * kP5))));
    const double y = 1.0 - ((lo - (t * c) / (2.0 - c)) - hi);
    const auto scale = static_cast<std::uint64_t>(static_cast<std::int64_t>(k) + 1023) << 52;
    return y * from_bits(scale);
}

constexpr double kTailEdge = 3.6541528853610087963519472518;  // X[1] = r (normal_tables.inc)

// The slow path of output i whose first word w fell outside its layer's inner rectangle:
// Marsaglia & Tsang (2000) wedge test and tail, with further words j = 0, 1, ... of output i from
// the slow stream (word index (i << 24) + j). Returns the normal.
double ziggurat_slow(std::uint64_t slow_key, std::uint64_t i, std::uint64_t w) {
    std::uint64_t next = (i << 24);
    auto word = [&] { return mix(slow_key + (++next) * kGamma); };
    for (;;) {
        const std::uint64_t layer = w & 0xFF;
        const std::uint64_t sign = ((w >> 8) & 1) << 63;
        const std::uint64_t rabs = w >> 12;
        if (rabs < kZigK[layer]) return from_bits(to_bits(from_u52(rabs) * kZigW[layer]) ^ sign);
        if (layer == 0) {
            // the tail x > r: x = r + a with a = -ln(u1) / r, accepted when -2 ln(u2) > a^2
            for (;;) {
                const double a = -log_positive(unit_open0(word())) / kTailEdge;
                const double b = -log_positive(unit_open0(word()));
                if (b + b > a * a) return from_bits(to_bits(kTailEdge + a) ^ sign);
            }
        }
        const double x = from_u52(rabs) * kZigW[layer];
        const double u = from_u52(word() >> 12) * 0x1p-52;  // [0, 1)
        const double y = kZigF[layer] + u * (kZigF[layer + 1] - kZigF[layer]);
        if (y < exp_nonpositive(-0.5 * (x * x))) return from_bits(to_bits(x) ^ sign);
        w = word();
    }
}

// The fast path's words come from kLanes xoshiro256++ generators run side by side (Blackman &
// Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4), 2021), seeded by
// SplitMix64 from the key: no 64-bit multiply, which AVX2 lacks.
constexpr std::size_t kLanes = 8;
constexpr std::size_t kSteps = 32;
constexpr std::size_t kChunk = kLanes * kSteps;

// Four 64-bit lanes as one value (GCC/Clang vector extension), two of them for the kLanes = 8
// lanes: the compiler maps each onto the level's registers (2 xmm or 1 ymm). Integer arithmetic,
// so every level gives the same words.
typedef std::uint64_t Words4 __attribute__((vector_size(32)));

struct Lanes {
    Words4 s0[2], s1[2], s2[2], s3[2];
};

// The chunk's words: word[t kLanes + l] is lane l's output t.
void xoshiro_chunk(Lanes& g, std::uint64_t* word) {
    for (int h = 0; h < 2; ++h) {
        Words4 s0 = g.s0[h], s1 = g.s1[h], s2 = g.s2[h], s3 = g.s3[h];
        for (std::size_t t = 0; t < kSteps; ++t) {
            const Words4 sum = s0 + s3;
            const Words4 w = ((sum << 23) | (sum >> 41)) + s0;  // xoshiro256++ output
            std::memcpy(word + t * kLanes + 4 * h, &w, sizeof w);
            const Words4 shifted = s1 << 17;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= shifted;
            s3 = (s3 << 45) | (s3 >> 19);
        }
        g.s0[h] = s0;
        g.s1[h] = s1;
        g.s2[h] = s2;
        g.s3[h] = s3;
    }
}

constexpr bool tables_below_2_52() {
    for (std::uint64_t k : kZigK) {
        if (k >= (std::uint64_t(1) << 52)) return false;
    }
    return true;
}
static_assert(tables_below_2_52(), "K[k] < 2^52: exact as doubles");

// The fast path of a chunk: z[j] from word j, and slow[j] = 1 when output j needs the slow path
// (rabs >= K[layer]). K[k] is held as doubles (exact: K[k] < 2^52), so that the test rabs >= K[k]
// is a compare of doubles the compiler vectorises next to the product: from_u52(rabs) >= K[k]
// exactly when rabs >= K[k].
struct DoubleK {
    double k[256];
};
constexpr DoubleK double_k() {
    DoubleK t{};
    for (int i = 0; i < 256; ++i) t.k[i] = static_cast<double>(kZigK[i]);
    return t;
}
constexpr DoubleK kZigKd = double_k();

void ziggurat_chunk(const std::uint64_t* word, double* z, std::uint8_t* slow) {
    for (std::size_t j = 0; j < kChunk; ++j) {
        const std::uint64_t w = word[j];
        const std::uint64_t layer = w & 0xFF;
        const double x = from_u52(w >> 12);
        z[j] = from_bits(to_bits(x * kZigW[layer]) ^ (((w >> 8) & 1) << 63));
        slow[j] = x >= kZigKd.k[layer];
    }
}

}  // namespace

std::uint64_t splitmix64(std::uint64_t key, std::uint64_t index) {
    return mix(key + (index + 1) * kGamma);
}

void fill_standard_normal(std::uint64_t key, double* out, std::size_t count) {
    alignas(64) double z[kChunk];
    alignas(64) std::uint64_t word[kChunk];
    alignas(64) std::uint8_t slow[kChunk];
    Lanes g;
    for (std::size_t l = 0; l < kLanes; ++l) {
        g.s0[l / 4][l % 4] = splitmix64(key, 4 * l);
        g.s1[l / 4][l % 4] = splitmix64(key, 4 * l + 1);
        g.s2[l / 4][l % 4] = splitmix64(key, 4 * l + 2);
        g.s3[l / 4][l % 4] = splitmix64(key, 4 * l + 3);
    }
    const std::uint64_t slow_key = mix(key ^ kSlowSalt);
    for (std::size_t done = 0; done < count; done += kChunk) {
        const std::size_t take = std::min(count - done, kChunk);
        double* target = take == kChunk ? out + done : z;  // full chunks straight to the output
        xoshiro_chunk(g, word);
        ziggurat_chunk(word, target, slow);
        // about 1.2 % of outputs take the slow path: eight flags (0 or 1 each) per word, and the
        // set ones visited by their lowest bit
        for (std::size_t j = 0; j < kChunk; j += 8) {
            std::uint64_t flags;
            std::memcpy(&flags, slow + j, sizeof flags);
            for (; flags != 0; flags &= flags - 1) {
                const std::size_t b = j + static_cast<std::size_t>(__builtin_ctzll(flags)) / 8;
                target[b] = ziggurat_slow(slow_key, done + b, word[b]);
            }
        }
        if (target == z) std::copy(z, z + take, out + done);
    }
}

void fill_mirrored_standard_normal(std::uint64_t key, double* out, std::size_t rows,
                                   std::size_t cols) {
    const std::size_t h = rows / 2;
    // odd rows: the last row is the stream's row rows - 1, so draw them all (the words cannot
    // be skipped) and overwrite the mirrors
    fill_standard_normal(key, out, (rows % 2 == 0 ? h : rows) * cols);
    const double* source = out;
    double* mirror = out + h * cols;
    for (std::size_t i = 0; i < h * cols; ++i) mirror[i] = -source[i];
}

void check_standard_normal_shape(Eigen::Index rows, Eigen::Index cols) {
    // the slow path numbers its words (i << 24) + j: i < 2^40 keeps them apart
    constexpr Eigen::Index kMaxCount = Eigen::Index(1) << 40;
    if (rows < 0 || cols < 0 || (cols > 0 && rows > kMaxCount / cols)) {
        invalid("standard normal shape must be non-negative with fewer than 2^40 entries, got (" +
                std::to_string(rows) + ", " + std::to_string(cols) + ")");
    }
}

RowMatrixXd standard_normal_matrix(std::uint64_t key, Eigen::Index rows, Eigen::Index cols) {
    check_standard_normal_shape(rows, cols);
    RowMatrixXd z(rows, cols);
    fill_standard_normal(key, z.data(), static_cast<std::size_t>(z.size()));
    return z;
}

}  // namespace natgrad
