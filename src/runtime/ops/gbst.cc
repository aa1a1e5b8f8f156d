// GBST, gradient-based subword tokenization (Tay et al. 2021, "Charformer", §2.1), as trained in
// src/train/layers.cc GbstImpl: causal conv, block candidates of widths 1..W (block means),
// one score per block, softmax over the widths at each position, the score-weighted sum of the
// upsampled candidates, then mean-pool downsampling.
#include <algorithm>

#include "runtime/ops/ops.h"
#include "runtime/ops/taps.h"

namespace bytelite::rt {

int64_t gbst(const OpContext& c, const GbstLayer& g, const int8_t* x, int64_t T, int8_t* y) {
  OpScratch& s = c.scratch;
  Profile* prof = c.profile;
  const int64_t D = g.conv.w.n;
  const int64_t W = g.max_block_width;
  const int64_t k = g.conv_kernel;
  // 1. causal conv: window of the k positions t-k+1..t (zero padded on the left).
  int8_t* xc = grow(s.buf1, T * D);
  {
    OpTimer tm(prof, Op::kConv);
    pad_rows(x, T, D, k - 1, 0, g.conv.in.zero_point, s.pad);
    dense(c, g.conv, s.pad.data(), T, D, xc);
  }
  c.tap(taps::kGbstConv, xc, T, D, g.conv.out);

  // 2. candidates (block means, params of the conv output) and one score per block.
  std::array<int64_t, 17> cand_off{}, score_off{};
  int64_t cand_total = 0, score_total = 0;
  for (int64_t b = 1; b <= W; ++b) {
    const int64_t tb = (T + b - 1) / b;
    cand_off[b] = cand_total;
    score_off[b] = score_total;
    cand_total += tb * D;
    score_total += tb;
  }
  int8_t* cands = grow(s.buf2, cand_total);
  int8_t* scores = grow(s.buf4, score_total);
  for (int64_t b = 1; b <= W; ++b) {
    const int64_t tb = (T + b - 1) / b;
    {
      OpTimer tm(prof, Op::kBlockMean);
      block_mean(xc, T, D, b, g.conv.out, cands + cand_off[b], s.fsum);
    }
    c.tap(taps::gbst_candidates(b), cands + cand_off[b], tb, D, g.conv.out);
    OpTimer tm(prof, Op::kBlockScore);
    dense(c, g.score, cands + cand_off[b], tb, D, scores + score_off[b]);
  }

  // 3. softmax over the widths at each position (upsampled block scores).
  int8_t* up = grow(s.buf5, 2 * T * W);  // [T, W] scores, then [T, W] probabilities
  int8_t* probs = up + T * W;
  {
    OpTimer tm(prof, Op::kWidthSoftmax);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t b = 1; b <= W; ++b) up[t * W + b - 1] = scores[score_off[b] + t / b];
    for (int64_t t = 0; t < T; ++t)
      softmax_u8(up + t * W, W, 1, g.score_exp.data(), probs + t * W, 1);
  }
  c.tap(taps::kGbstScores, up, T, W, g.score.out);
  c.tap(taps::kGbstProbs, probs, T, W, kUnitParams);

  // 4. mixture: y_t = Σ_w cand_w[t / w] p_tw in int32, requantized to the mix params.
  int8_t* mix = grow(s.buf3, T * D);
  {
    OpTimer tm(prof, Op::kGbstMix);
    const int32_t zc = g.conv.out.zero_point;
    int32_t* acc = grow(s.acc, T * D);
    for (int64_t t = 0; t < T; ++t) {
      int32_t* at = acc + t * D;
      for (int64_t ch = 0; ch < D; ++ch) at[ch] = 0;
      for (int64_t b = 1; b <= W; ++b) {
        const int32_t p = probs[t * W + b - 1] + 128;
        const int8_t* cb = cands + cand_off[b] + (t / b) * D;
        for (int64_t ch = 0; ch < D; ++ch) at[ch] += (cb[ch] - zc) * p;
      }
    }
    requantize(c.isa, acc, T, g.mix_rq, mix);
  }
  c.tap(taps::kGbstMix, mix, T, D, g.mix);

  // 5. downsampling by mean over blocks of `rate` positions (same params).
  const int64_t r = g.downsample_rate;
  const int64_t tout = (T + r - 1) / r;
  {
    OpTimer tm(prof, Op::kDownsample);
    block_mean(mix, T, D, r, g.mix, y, s.fsum);
  }
  c.tap(taps::kGbstOut, y, tout, D, g.mix);
  return tout;
}

}  // namespace bytelite::rt
