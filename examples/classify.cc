// Classifies lines of stdin with an int8 model file, using only the runtime library
// (libbytelite; no libtorch). One output line per input line:
//   <predicted labels, comma-separated>\t<label>=<probability> ...
//
// Build: part of the CMake project (target classify_example, binary "classify").
// Usage: classify MODEL.blt [THREADS] < texts.txt
#include <bytelite/classifier.h>
#include <bytelite/errors.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s MODEL.blt [THREADS] < texts.txt\n", argv[0]);
    return 2;
  }
  try {
    const bytelite::Classifier clf = bytelite::Classifier::load(argv[1]);
    const int threads = argc == 3 ? std::max(1, std::atoi(argv[2])) : 1;
    std::vector<std::string> lines;
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(line);
    }
    const auto& labels = clf.info().labels;
    for (const auto& p : clf.classify_batch(lines, threads)) {
      std::string out;
      for (size_t i = 0; i < p.labels.size(); ++i) out += (i ? "," : "") + labels[p.labels[i]];
      out += '\t';
      for (size_t c = 0; c < labels.size(); ++c) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6f", p.probabilities[c]);
        out += (c ? " " : "") + labels[c] + "=" + buf;
      }
      std::printf("%s\n", out.c_str());
    }
  } catch (const bytelite::Error& e) {
    std::fprintf(stderr, "classify: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
