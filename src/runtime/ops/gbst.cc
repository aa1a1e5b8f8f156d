// GBST, gradient-based subword tokenization (Tay et al. 2021, "Charformer", §2.1), as trained in
// src/train/layers.cc GbstImpl: causal conv, block candidates of widths 1..W (block means),
// one score per block, softmax over the widths at each position, the score-weighted sum of the
// upsampled candidates, then mean-pool downsampling.
#include <algorithm>
#include <cstring>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "runtime/kernels/requantize_avx512_inl.h"
#endif

namespace bytelite::rt {

namespace {

// p[i] = rne(255 e[i] / den[i]) - 128 for i < n (quant.h softmax_quotient_f64); the clones
// vectorize the same double operations.
inline __attribute__((always_inline)) void softmax_quotients_body(const uint32_t* e,
                                                                  const double* den, int64_t n,
                                                                  int8_t* p) {
  for (int64_t i = 0; i < n; ++i) p[i] = saturate_int8(softmax_quotient_f64(e[i], den[i]) - 128);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void softmax_quotients_avx2(const uint32_t* e, const double* den,
                                                            int64_t n, int8_t* p) {
  softmax_quotients_body(e, den, n, p);
}
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512dq"))) void softmax_quotients_avx512(
    const uint32_t* e, const double* den, int64_t n, int8_t* p) {
  softmax_quotients_body(e, den, n, p);
}
#endif

void softmax_quotients(Isa isa, const uint32_t* e, const double* den, int64_t n, int8_t* p) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni)) {
    softmax_quotients_avx512(e, den, n, p);
    return;
  }
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    softmax_quotients_avx2(e, den, n, p);
    return;
  }
#endif
  softmax_quotients_body(e, den, n, p);
}

// Step 3 of one sequence: the block scores upsampled to [T, W] (up) and their softmax over the
// widths (probs, [T, W]). The reference path runs softmax_u8 per position; the optimized paths
// the same integers with the quotients from one double division each (quant.h
// softmax_quotient_f64, exact for W <= 16: the sum is below 2^35).
void width_softmax(Isa isa, OpScratch& s, const GbstLayer& g, const int8_t* scores,
                   const std::array<int64_t, 17>& score_off, int64_t T, int8_t* up, int8_t* probs) {
  const int64_t W = g.max_block_width;
  // upsampling: position t reads block t / b of width b (block by block, not divided)
  for (int64_t b = 1; b <= W; ++b) {
    const int8_t* sb = scores + score_off[b];
    int8_t* ub = up + b - 1;
    for (int64_t t0 = 0, blk = 0; t0 < T; t0 += b, ++blk) {
      const int8_t v = sb[blk];
      const int64_t t1 = std::min(T, t0 + b);
      for (int64_t t = t0; t < t1; ++t) ub[t * W] = v;
    }
  }
  if (isa == Isa::kReference) {
    for (int64_t t = 0; t < T; ++t)
      softmax_u8(up + t * W, W, 1, g.score_exp.data(), probs + t * W, 1);
    return;
  }
  // the exponentials and each position's sum, then every quotient in one vectorized pass
  const uint32_t* ex = g.score_exp.data();
  uint32_t* e = grow(s.e, T * W);
  double* den = grow(s.den, T * W);
  for (int64_t t = 0; t < T; ++t) {
    const int8_t* q = up + t * W;
    int32_t mx = q[0];
    for (int64_t i = 1; i < W; ++i) mx = std::max<int32_t>(mx, q[i]);
    uint64_t sum = 0;
    for (int64_t i = 0; i < W; ++i) sum += e[t * W + i] = ex[mx - q[i]];
    for (int64_t i = 0; i < W; ++i) den[t * W + i] = static_cast<double>(sum);
  }
  softmax_quotients(isa, e, den, T * W, probs);
}

// Step 4 of one sequence: acc [T, D] = Σ_w (cand_w[t / w] - z_c) (p_tw + 128) in int32 (exact:
// the same integers on every path; the AVX2 clone below only vectorizes the channel loop).
inline __attribute__((always_inline)) void mix_accumulate_body(
    const GbstLayer& g, const int8_t* cands, const std::array<int64_t, 17>& cand_off,
    const int8_t* probs, int64_t T, int64_t D, int32_t* acc) {
  const int64_t W = g.max_block_width;
  const int32_t zc = g.conv.out.zero_point;
  // block t / b of width b, counted per width instead of divided
  std::array<int64_t, 17> blk{}, in{};
  for (int64_t t = 0; t < T; ++t) {
    int32_t* at = acc + t * D;
    for (int64_t ch = 0; ch < D; ++ch) at[ch] = 0;
    for (int64_t b = 1; b <= W; ++b) {
      const int32_t p = probs[t * W + b - 1] + 128;
      const int8_t* cb = cands + cand_off[b] + blk[b] * D;
      for (int64_t ch = 0; ch < D; ++ch) at[ch] += (cb[ch] - zc) * p;
      if (++in[b] == b) in[b] = 0, ++blk[b];
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) void mix_accumulate_avx2(const GbstLayer& g, const int8_t* cands,
                                                         const std::array<int64_t, 17>& cand_off,
                                                         const int8_t* probs, int64_t T, int64_t D,
                                                         int32_t* acc) {
  mix_accumulate_body(g, cands, cand_off, probs, T, D, acc);
}
// The same sums written out for AVX-512: 16 channels a register, every width's term added in
// registers (masked loads and stores for the last channels); int32 products and sums are exact.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl"))) void mix_accumulate_avx512(
    const GbstLayer& g, const int8_t* cands, const std::array<int64_t, 17>& cand_off,
    const int8_t* probs, int64_t T, int64_t D, int32_t* acc) {
  const int64_t W = g.max_block_width;
  const __m512i zc = _mm512_set1_epi32(g.conv.out.zero_point);
  const __mmask16 all = 0xFFFF;  // zero-masked forms: see block_mean.cc
  std::array<const int8_t*, 17> row{};
  std::array<int64_t, 17> in{};
  for (int64_t b = 1; b <= W; ++b) row[b] = cands + cand_off[b];
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c0 = 0; c0 < D; c0 += 16) {
      const int64_t left = D - c0;
      const auto m = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      __m512i a = _mm512_setzero_si512();
      for (int64_t b = 1; b <= W; ++b) {
        const __m512i p = _mm512_set1_epi32(probs[t * W + b - 1] + 128);
        const __m512i c = _mm512_maskz_cvtepi8_epi32(all, _mm_maskz_loadu_epi8(m, row[b] + c0));
        a = _mm512_add_epi32(a, _mm512_mullo_epi32(_mm512_sub_epi32(c, zc), p));
      }
      _mm512_mask_storeu_epi32(acc + t * D + c0, m, a);
    }
    for (int64_t b = 1; b <= W; ++b)
      if (++in[b] == b) in[b] = 0, row[b] += D;
  }
}
#endif

#if defined(__x86_64__) || defined(__i386__)
// The bytes c0..c0+15 (the lanes of m) of four candidate rows, interleaved per channel into
// [r[0][ch], r[1][ch], r[2][ch], r[3][ch]] by one byte permute (idx: mix_requant_vnni), as the
// signed operand of a vpdpbusd over the four widths.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vbmi"), always_inline)) inline __m512i
interleave4(const int8_t* const (&r)[4], int64_t c0, __mmask16 m, __m512i idx) {
  __m128i q[4];
  for (int i = 0; i < 4; ++i)
    q[i] = m == 0xFFFF ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(r[i] + c0))
                       : _mm_maskz_loadu_epi8(m, r[i] + c0);
  __m512i v = _mm512_zextsi128_si512(q[0]);
  v = _mm512_inserti32x4(v, q[1], 1);
  v = _mm512_inserti32x4(v, q[2], 2);
  v = _mm512_inserti32x4(v, q[3], 3);
  return _mm512_maskz_permutexvar_epi8(~__mmask64{0}, idx, v);
}

// Step 4 on the AVX-512 VNNI path with VBMI, requantized in registers: with P_tb = p_tb + 128 in
// 0..255, acc = Σ_b cand_b[t / b] P_tb - z_c Σ_b P_tb, the same integers as mix_accumulate
// (exact int32 arithmetic). Four widths at a time are one vpdpbusd: the candidate rows of the
// four widths (16 channels each) are interleaved by one byte permute into [c_1, c_2, c_3, c_4]
// per channel and multiplied by the four P_tb bytes broadcast to every channel; widths past W
// get P = 0. The sums are requantized with the mixture's parameters by requantize_avx512's
// code (requantize_avx512_inl.h) and stored as int8, never as an int32 buffer.
__attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi"))) void
mix_requant_vnni(const GbstLayer& g, const int8_t* cands, const std::array<int64_t, 17>& cand_off,
                 const int8_t* probs, int64_t T, int64_t D, int8_t* y) {
  const int64_t W = g.max_block_width;
  const int64_t groups = (W + 3) / 4;
  const int32_t zc = g.conv.out.zero_point;
  // byte 4 ch + i of the interleaved vector <- byte 16 i + ch of [row_1 | row_2 | row_3 | row_4]
  alignas(64) uint8_t order[64];
  for (int ch = 0; ch < 16; ++ch)
    for (int i = 0; i < 4; ++i) order[4 * ch + i] = static_cast<uint8_t>(16 * i + ch);
  const __m512i idx = _mm512_load_si512(order);
  if (W <= 4) {
    // Up to 4 widths (the shipped configs): the four rows of position t are computed, not
    // carried in arrays through memory (block t / b; widths past W read width 1's row, P = 0).
    const int8_t* c1 = cands + cand_off[1];
    const int8_t* c2 = W >= 2 ? cands + cand_off[2] : c1;
    const int8_t* c3 = W >= 3 ? cands + cand_off[3] : c1;
    const int8_t* c4 = W >= 4 ? cands + cand_off[4] : c1;
    // channel blocks outside (a block's requantization parameters stay in registers)
    const avx512::RqOut out = avx512::load_rq_out(g.mix_rq);
    for (int64_t c0 = 0; c0 < D; c0 += 16) {
      const int64_t left = D - c0;
      const auto m = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const avx512::Rq16 rq = avx512::load_rq16(g.mix_rq, c0);
      for (int64_t t = 0; t < T; ++t) {
        uint32_t p4 = 0;
        int32_t sum_p = 0;
        for (int64_t b = 0; b < W; ++b) {
          const uint32_t pb = static_cast<uint8_t>(probs[t * W + b] + 128);
          p4 |= pb << (8 * b);
          sum_p += static_cast<int32_t>(pb);
        }
        const int8_t* const r[4] = {c1 + t * D, c2 + (W >= 2 ? t / 2 : t) * D,
                                    c3 + (W >= 3 ? t / 3 : t) * D, c4 + (W >= 4 ? t / 4 : t) * D};
        const __m512i a =
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(static_cast<int32_t>(p4)),
                                interleave4(r, c0, m, idx));
        avx512::store16(
            y + t * D + c0, m,
            avx512::requant16(_mm512_sub_epi32(a, _mm512_set1_epi32(zc * sum_p)), rq, out));
      }
    }
    return;
  }
  std::array<const int8_t*, 17> row{};
  std::array<int64_t, 17> in{};
  for (int64_t b = 1; b <= W; ++b) row[b] = cands + cand_off[b];
  for (int64_t t = 0; t < T; ++t) {
    // P_tb packed 4 to a word, built in registers (bytes stored one by one and read back as a
    // word would stall on store forwarding at every position)
    std::array<uint32_t, 4> p4{};
    int32_t sum_p = 0;
    for (int64_t b = 0; b < W; ++b) {
      const uint32_t pb = static_cast<uint8_t>(probs[t * W + b] + 128);
      p4[b / 4] |= pb << (8 * (b % 4));
      sum_p += static_cast<int32_t>(pb);
    }
    const __m512i zsum = _mm512_set1_epi32(zc * sum_p);
    for (int64_t c0 = 0; c0 < D; c0 += 16) {
      const int64_t left = D - c0;
      const auto m = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      __m512i a = _mm512_setzero_si512();
      for (int64_t gi = 0; gi < groups; ++gi) {
        const int64_t b0 = 4 * gi + 1;  // widths b0..b0+3 (past W: width 1's row, P = 0)
        const int8_t* const r[4] = {row[b0], b0 + 1 <= W ? row[b0 + 1] : row[1],
                                    b0 + 2 <= W ? row[b0 + 2] : row[1],
                                    b0 + 3 <= W ? row[b0 + 3] : row[1]};
        a = _mm512_dpbusd_epi32(a, _mm512_set1_epi32(static_cast<int32_t>(p4[gi])),
                                interleave4(r, c0, m, idx));
      }
      avx512::requant_store16(_mm512_sub_epi32(a, zsum), g.mix_rq, c0, m, y + t * D);
    }
    for (int64_t b = 1; b <= W; ++b)
      if (++in[b] == b) in[b] = 0, row[b] += D;
  }
}
#endif

void mix_accumulate(Isa isa, const GbstLayer& g, const int8_t* cands,
                    const std::array<int64_t, 17>& cand_off, const int8_t* probs, int64_t T,
                    int64_t D, int32_t* acc) {
#if defined(__x86_64__) || defined(__i386__)
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni)) {
    mix_accumulate_avx512(g, cands, cand_off, probs, T, D, acc);
    return;
  }
  if (isa != Isa::kReference && isa_supported(Isa::kAvx2)) {
    mix_accumulate_avx2(g, cands, cand_off, probs, T, D, acc);
    return;
  }
#endif
  mix_accumulate_body(g, cands, cand_off, probs, T, D, acc);
}

// Step 4 with its requantization: y [T, D] = requantize(mix_accumulate(...), g.mix_rq). The VNNI
// path with VBMI fuses both (mix_requant_vnni); the others accumulate into acc, then requantize.
void mix_requant(Isa isa, const GbstLayer& g, const int8_t* cands,
                 const std::array<int64_t, 17>& cand_off, const int8_t* probs, int64_t T, int64_t D,
                 std::vector<int32_t>& acc, int8_t* y) {
#if defined(__x86_64__) || defined(__i386__)
  static const bool vbmi = __builtin_cpu_supports("avx512vbmi");
  if (isa == Isa::kAvx512Vnni && isa_supported(Isa::kAvx512Vnni) && vbmi &&
      !g.mix_rq.m0_16.empty() && g.max_block_width <= 16) {
    mix_requant_vnni(g, cands, cand_off, probs, T, D, y);
    return;
  }
#endif
  int32_t* a = grow(acc, T * D);
  mix_accumulate(isa, g, cands, cand_off, probs, T, D, a);
  requantize(isa, a, T, g.mix_rq, y);
}

// Offsets of the candidates ([ceil(T / w), D] for w = 1..W) and of the block scores in one
// sequence's part of the buffers; returns {candidate bytes, score count}.
std::pair<int64_t, int64_t> block_offsets(int64_t T, int64_t D, int64_t W,
                                          std::array<int64_t, 17>& cand_off,
                                          std::array<int64_t, 17>& score_off) {
  int64_t cand_total = 0, score_total = 0;
  for (int64_t b = 1; b <= W; ++b) {
    const int64_t tb = (T + b - 1) / b;
    cand_off[b] = cand_total;
    score_off[b] = score_total;
    cand_total += tb * D;
    score_total += tb;
  }
  return {cand_total, score_total};
}

}  // namespace

namespace {

// Steps 2-5 of gbst() on the conv output xc [T, D] (in s.buf1).
int64_t gbst_after_conv(const OpContext& c, const GbstLayer& g, const int8_t* xc, int64_t T,
                        int8_t* y) {
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  const int64_t D = g.conv.w.n;
  const int64_t W = g.max_block_width;
  c.tap(taps::kGbstConv, xc, T, D, g.conv.out);

  // 2. candidates (block means, params of the conv output), stacked [Σ_b ceil(T / b), D], then
  // one score per block, all widths in one dense call.
  std::array<int64_t, 17> cand_off{}, score_off{};
  const auto [cand_total, score_total] = block_offsets(T, D, W, cand_off, score_off);
  int8_t* cands = grow(s.buf2, cand_total);
  int8_t* scores = grow(s.buf4, score_total);
  for (int64_t b = 1; b <= W; ++b) {
    {
      OpTimer tm(prof, Op::kBlockMean);
      block_mean(c.isa, xc, T, D, b, g.conv.out, cands + cand_off[b], s.fsum);
    }
    c.tap(taps::gbst_candidates(b), cands + cand_off[b], (T + b - 1) / b, D, g.conv.out);
  }
  {
    OpTimer tm(prof, Op::kBlockScore);
    dense(c, g.score, cands, score_total, D, scores);
  }

  // 3. softmax over the widths at each position (upsampled block scores).
  int8_t* up = grow(s.buf5, 2 * T * W);  // [T, W] scores, then [T, W] probabilities
  int8_t* probs = up + T * W;
  {
    OpTimer tm(prof, Op::kWidthSoftmax);
    width_softmax(c.isa, c.scratch, g, scores, score_off, T, up, probs);
  }
  c.tap(taps::kGbstScores, up, T, W, g.score.out);
  c.tap(taps::kGbstProbs, probs, T, W, kUnitParams);

  // 4. mixture: y_t = Σ_w cand_w[t / w] p_tw in int32, requantized to the mix params.
  int8_t* mix = grow(s.buf3, T * D);
  {
    OpTimer tm(prof, Op::kGbstMix);
    mix_requant(c.isa, g, cands, cand_off, probs, T, D, s.acc, mix);
  }
  c.tap(taps::kGbstMix, mix, T, D, g.mix);

  // 5. downsampling by mean over blocks of `rate` positions (same params).
  const int64_t r = g.downsample_rate;
  const int64_t tout = (T + r - 1) / r;
  {
    OpTimer tm(prof, Op::kDownsample);
    block_mean(c.isa, mix, T, D, r, g.mix, y, s.fsum);
  }
  c.tap(taps::kGbstOut, y, tout, D, g.mix);
  return tout;
}

}  // namespace

int64_t gbst(const OpContext& c, const GbstLayer& g, const int8_t* x, int64_t T, int8_t* y) {
  OpScratch& s = c.scratch;
  const int64_t D = g.conv.w.n;
  // 1. causal conv: window of the k positions t-k+1..t (zero padded on the left).
  int8_t* xc = grow(s.buf1, T * D);
  {
    OpTimer tm(c.profile, Op::kConv);
    pad_rows(x, T, D, g.conv_kernel - 1, 0, g.conv.in.zero_point, s.pad);
    dense(c, g.conv, s.pad.data(), T, D, xc);
  }
  return gbst_after_conv(c, g, xc, T, y);
}

int64_t gbst_ids(const OpContext& c, const GbstLayer& g, const ByteTables& t, const int32_t* ids,
                 int64_t T, int8_t* y) {
  OpScratch& s = c.scratch;
  const int64_t D = g.conv.w.n;
  int8_t* xc = grow(s.buf1, T * D);
  {
    OpTimer tm(c.profile, Op::kConv);
    tap_sums_requant(c.isa, t.taps.data(), t.vocab + 1, t.kernel, D, ids, T, t.vocab, g.conv.rq, xc,
                     s.acc);
  }
  return gbst_after_conv(c, g, xc, T, y);
}

void build_byte_tables(const int8_t* embedding, int64_t vocab, int64_t F,
                       const DenseLayer& bottleneck, const GbstLayer* conv, ByteTables& t) {
  const int64_t D = bottleneck.w.n;
  t.vocab = vocab;
  t.dim = D;
  t.rows.assign(static_cast<size_t>(vocab * D), 0);
  OpScratch scratch;
  const OpContext ref{Isa::kReference, scratch};
  dense(ref, bottleneck, embedding, vocab, F, t.rows.data());
  t.taps.clear();
  t.kernel = 0;
  if (conv == nullptr) return;
  const int64_t k = conv->conv_kernel;
  const int8_t* w = conv->conv.w.w;  // [D, k D]
  t.kernel = k;
  t.taps.assign(static_cast<size_t>(k * (vocab + 1) * D), 0);
  const auto zp = static_cast<int8_t>(conv->conv.in.zero_point);
  std::vector<int8_t> pad(static_cast<size_t>(D), zp);
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t v = 0; v <= vocab; ++v) {
      const int8_t* x = v < vocab ? t.rows.data() + v * D : pad.data();
      int32_t* out = t.taps.data() + (j * (vocab + 1) + v) * D;
      for (int64_t ch = 0; ch < D; ++ch) {
        const int8_t* wr = w + ch * k * D + j * D;
        int32_t sum = 0;
        for (int64_t i = 0; i < D; ++i) sum += static_cast<int32_t>(wr[i]) * x[i];
        out[ch] = sum;
      }
    }
  }
}

int64_t gbst_batch(const OpContext& c, const GbstLayer& g, const int8_t* x, const int64_t* lens,
                   int64_t N, int8_t* y, int64_t* out_lens) {
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  const int64_t D = g.conv.w.n;
  const int64_t W = g.max_block_width;
  const int64_t P = g.conv_kernel - 1;
  // Per sequence i: [0] its first input row, [1] its first row in the padded buffer (and in the
  // conv output), [2] its first candidate row, [3] its first output row.
  int64_t* off = grow(s.offs, 4 * (N + 1));
  off[0] = off[1] = off[2] = off[3] = 0;
  const int64_t r = g.downsample_rate;
  std::array<int64_t, 17> cand_off{}, score_off{};
  for (int64_t i = 0; i < N; ++i) {
    const int64_t T = lens[i];
    const auto rows = block_offsets(T, D, W, cand_off, score_off).second;
    out_lens[i] = (T + r - 1) / r;
    off[4 * (i + 1) + 0] = off[4 * i + 0] + T;
    off[4 * (i + 1) + 1] = off[4 * i + 1] + P + T;
    off[4 * (i + 1) + 2] = off[4 * i + 2] + rows;
    off[4 * (i + 1) + 3] = off[4 * i + 3] + out_lens[i];
  }
  const int64_t total_in = off[4 * N + 0], padded = off[4 * N + 1];
  const int64_t cand_rows = off[4 * N + 2];

  // 1. causal conv of every sequence as one GEMM: window start b_i + t is sequence i's position t
  // (b_i = off[4i + 1]); the P window starts after each sequence straddle two and are dropped.
  const int64_t R = padded - P;
  int8_t* xc = grow(s.buf1, R * D);
  {
    OpTimer tm(prof, Op::kConv);
    int8_t* pad = grow(s.pad, padded * D);
    const int8_t z = static_cast<int8_t>(g.conv.in.zero_point);
    for (int64_t i = 0; i < N; ++i) {
      int8_t* dst = pad + off[4 * i + 1] * D;
      std::memset(dst, z, static_cast<size_t>(P * D));
      std::memcpy(dst + P * D, x + off[4 * i + 0] * D, static_cast<size_t>(lens[i] * D));
    }
    dense(c, g.conv, pad, R, D, xc);
  }

  // 2. candidates of every sequence (block means), then every block score as one GEMM.
  int8_t* cands = grow(s.buf2, cand_rows * D);
  int8_t* scores = grow(s.buf4, cand_rows);
  {
    OpTimer tm(prof, Op::kBlockMean);
    for (int64_t i = 0; i < N; ++i) {
      block_offsets(lens[i], D, W, cand_off, score_off);
      int8_t* ci = cands + off[4 * i + 2] * D;
      for (int64_t b = 1; b <= W; ++b)
        block_mean(c.isa, xc + off[4 * i + 1] * D, lens[i], D, b, g.conv.out, ci + cand_off[b],
                   s.fsum);
    }
  }
  {
    OpTimer tm(prof, Op::kBlockScore);
    dense(c, g.score, cands, cand_rows, D, scores);
  }

  // 3.-4. per sequence: softmax over the widths, the mixture and its requantization.
  int8_t* mix = grow(s.buf3, total_in * D);
  for (int64_t i = 0; i < N; ++i) {
    const int64_t T = lens[i];
    block_offsets(T, D, W, cand_off, score_off);
    int8_t* up = grow(s.buf5, 2 * T * W);
    int8_t* probs = up + T * W;
    {
      OpTimer tm(prof, Op::kWidthSoftmax);
      width_softmax(c.isa, c.scratch, g, scores + off[4 * i + 2], score_off, T, up, probs);
    }
    OpTimer tm(prof, Op::kGbstMix);
    mix_requant(c.isa, g, cands + off[4 * i + 2] * D, cand_off, probs, T, D, s.acc,
                mix + off[4 * i] * D);
  }

  // 5. downsampling per sequence.
  {
    OpTimer tm(prof, Op::kDownsample);
    for (int64_t i = 0; i < N; ++i)
      block_mean(c.isa, mix + off[4 * i] * D, lens[i], D, r, g.mix, y + off[4 * i + 3] * D, s.fsum);
  }
  return off[4 * N + 3];
}

}  // namespace bytelite::rt
