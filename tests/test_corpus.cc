// Corpus pipeline (src/core/corpus.h): streaming readers for text, JSONL and gzip, their error
// messages, epochs and file order, the shuffle buffer, the sequence packer, bounded memory on a
// 50 MB stream, and the bundled data/pretrain files.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/byte_tokenizer.h"
#include "core/corpus.h"
#include "core/errors.h"

namespace bytelite {
namespace {

std::string temp_path(const std::string& name) {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  return testing::TempDir() + "bytelite_" + info->test_suite_name() + "_" + info->name() + "_" +
         name;
}

std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  EXPECT_TRUE(out.good()) << path;
  return path;
}

// Gzip-compresses `bytes` with zlib into a file; `members` > 1 writes that many concatenated
// gzip members (one per equal part).
std::string write_gzip(const std::string& name, const std::string& bytes, int members = 1) {
  const std::string path = temp_path(name);
  std::remove(path.c_str());
  const size_t part = (bytes.size() + members - 1) / members;
  for (int m = 0; m < members; ++m) {
    gzFile gz = gzopen(path.c_str(), m == 0 ? "wb6" : "ab6");
    EXPECT_NE(gz, nullptr) << path;
    const size_t begin = std::min(bytes.size(), m * part);
    const size_t n = std::min(part, bytes.size() - begin);
    if (n > 0) {
      EXPECT_EQ(gzwrite(gz, bytes.data() + begin, static_cast<unsigned>(n)), static_cast<int>(n));
    }
    EXPECT_EQ(gzclose(gz), Z_OK);
  }
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> read_all(const std::vector<std::string>& paths, CorpusOptions opt = {}) {
  CorpusReader reader(paths, opt);
  std::vector<std::string> docs;
  std::string doc;
  while (reader.next(&doc)) docs.push_back(doc);
  return docs;
}

// The message of the error of type E that f throws ("" and a test failure if none).
template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

std::string input_error(const std::function<void()>& f) { return error_of<InputError>(f); }

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find [" << (needle) << "] in [" << (haystack) << "]"

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

const std::vector<std::string> kTextDocs = {
    "first line",
    "  leading and trailing spaces  ",
    "crlf line",
    "tab\there",
    std::string("nul \0 byte", 10),
    "invalid utf-8 \xFF\xFE here",
    "caf\xC3\xA9 \xE4\xB8\xAD",
};
// The documents above as a text file: BOM, blank and whitespace-only lines, a CRLF line, no
// final LF.
const std::string kTextFile = std::string("\xEF\xBB\xBF") + "first line\n\n" +
                              "  leading and trailing spaces  \n \t \ncrlf line\r\n" +
                              "tab\there\n" + std::string("nul \0 byte\n", 11) +
                              "invalid utf-8 \xFF\xFE here\n\r\ncaf\xC3\xA9 \xE4\xB8\xAD";

// ---- formats ----

TEST(CorpusReader, TextFileOneDocumentPerNonBlankLine) {
  const std::string path = write_temp("a.txt", kTextFile);
  CorpusReader reader({path}, {});
  std::vector<std::string> docs;
  std::string doc;
  while (reader.next(&doc)) docs.push_back(doc);
  EXPECT_EQ(docs, kTextDocs);
  EXPECT_EQ(reader.documents(), 7);
  EXPECT_EQ(reader.bad_lines(), 0);
  EXPECT_EQ(reader.bytes_read(), static_cast<int64_t>(kTextFile.size()));
  EXPECT_EQ(reader.epoch_bytes(), static_cast<int64_t>(kTextFile.size()));
  int64_t bytes = 0;
  for (const std::string& d : kTextDocs) bytes += static_cast<int64_t>(d.size());
  EXPECT_EQ(reader.document_bytes(), bytes);
  EXPECT_FALSE(reader.next(&doc));  // stays at the end
}

TEST(CorpusReader, JsonlTextField) {
  const std::string file =
      "{\"text\": \"hello\", \"lang\": \"en\"}\n"
      "\n"
      "  {\"id\": 3, \"text\": \"two\\nlines \\u00e9\\ud83d\\ude00\"}  \r\n"
      "{\"text\": \"\"}\n"
      "{\"lang\": \"de\", \"text\": \"Gr\xC3\xBC\xC3\x9F"
      "e\"}";
  const std::string path = write_temp("a.jsonl", file);
  EXPECT_EQ(read_all({path}),
            std::vector<std::string>({"hello", "two\nlines \xC3\xA9\xF0\x9F\x98\x80",
                                      "Gr\xC3\xBC\xC3\x9F"
                                      "e"}));
  CorpusOptions opt;
  opt.text_field = "lang";
  opt.skip_bad_lines = true;  // line 3 has no "lang"
  CorpusReader reader({path}, opt);
  std::string doc;
  std::vector<std::string> langs;
  while (reader.next(&doc)) langs.push_back(doc);
  EXPECT_EQ(langs, std::vector<std::string>({"en", "de"}));
  EXPECT_EQ(reader.bad_lines(), 2);  // lines 3 and 4 have no "lang"
}

TEST(CorpusReader, FormatForcedOverridesExtension) {
  const std::string path = write_temp("a.data", "{\"text\":\"x y\"}\n");
  CorpusOptions opt;
  opt.format = CorpusFormat::kJsonl;
  EXPECT_EQ(read_all({path}, opt), std::vector<std::string>({"x y"}));
  opt.format = CorpusFormat::kText;
  EXPECT_EQ(read_all({path}, opt), std::vector<std::string>({"{\"text\":\"x y\"}"}));
  EXPECT_CONTAINS(input_error([&] { read_all({path}); }),
                  "expected a corpus file name ending in .txt");
}

TEST(CorpusReader, GzipWrittenByZlibReadsBackTheSame) {
  const std::string jsonl = "{\"text\":\"a\"}\n{\"text\":\"b c\"}\n{\"text\":\"d\\te\"}\n";
  EXPECT_EQ(read_all({write_gzip("a.txt.gz", kTextFile)}), kTextDocs);
  EXPECT_EQ(read_all({write_gzip("a.jsonl.gz", jsonl)}),
            std::vector<std::string>({"a", "b c", "d\te"}));
  // Concatenated gzip members are one stream (the cut falls inside a line).
  EXPECT_EQ(read_all({write_gzip("m.txt.gz", kTextFile, 3)}), kTextDocs);
  // A gzip file not named .gz is decompressed too (zlib reads it transparently).
  const std::string gz = read_file(write_gzip("b.txt.gz", kTextFile));
  EXPECT_EQ(read_all({write_temp("b.txt", gz)}), kTextDocs);
}

TEST(CorpusReader, GzipOfManyChunksWithLongLines) {
  // Lines of every length around the 64 KiB read chunk, so lines straddle chunk boundaries.
  std::string file;
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    std::string line(static_cast<size_t>(1 + i * 4099), static_cast<char>('a' + i % 26));
    line += std::to_string(i);
    expected.push_back(line);
    file += line + "\n";
  }
  EXPECT_EQ(read_all({write_gzip("long.txt.gz", file)}), expected);
  EXPECT_EQ(read_all({write_temp("long.txt", file)}), expected);
}

// ---- errors ----

TEST(CorpusReader, BadJsonlLinesNameFileLineExpectedAndFound) {
  const std::string good = "{\"text\": \"ok\"}\n";
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{\"text\": \"unterminated}", ":2: expected a JSON object, found invalid JSON at byte"},
      {"[1, 2]", ":2: expected a JSON object, found an array"},
      {"\"just a string\"", ":2: expected a JSON object, found the string \"just a string\""},
      {"{\"body\": \"x\", \"id\": 1}",
       ":2: expected the key \"text\" in the JSON object, found keys \"body\", \"id\""},
      {"{}", ":2: expected the key \"text\" in the JSON object, found an empty object"},
      {"{\"text\": 5}", ":2: expected a string value for \"text\", found the number 5"},
      {"{\"text\": null}", ":2: expected a string value for \"text\", found null"},
      {"{\"text\": [\"a\"]}", ":2: expected a string value for \"text\", found an array"},
      {"{\"text\": \"bad utf-8 \xFF\"}",
       ":2: expected a JSON object, found invalid JSON at byte 21 (syntax error while parsing "
       "value "
       "- invalid string: ill-formed UTF-8 byte; last read: '\"bad utf-8 \\xff')"},
  };
  for (const Case& c : cases) {
    const std::string path = write_temp("bad.jsonl", good + c.line + "\n" + good);
    const std::string msg = input_error([&] { read_all({path}); });
    EXPECT_EQ(msg.rfind(path + ":2: ", 0), 0u) << msg;
    EXPECT_CONTAINS(msg, c.message);
  }
}

TEST(CorpusReader, SkipBadLinesCountsThem) {
  const std::string path = write_temp(
      "bad.jsonl", "{\"text\":\"a\"}\nnot json\n[1]\n{\"t\":1}\n{\"text\":2}\n{\"text\":\"b\"}\n");
  CorpusOptions opt;
  opt.skip_bad_lines = true;
  CorpusReader reader({path}, opt);
  std::vector<std::string> docs;
  std::string doc;
  while (reader.next(&doc)) docs.push_back(doc);
  EXPECT_EQ(docs, std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(reader.bad_lines(), 4);
  EXPECT_CONTAINS(reader.progress_line(), "4 bad lines skipped");
  // A file of bad lines only is still an error.
  const std::string all_bad = write_temp("allbad.jsonl", "x\ny\n");
  EXPECT_CONTAINS(input_error([&] { read_all({all_bad}, opt); }),
                  "expected at least one document, found none (2 bad lines skipped)");
}

TEST(CorpusReader, JsonlLineLongerThanMaxLineBytes) {
  const std::string path =
      write_temp("long.jsonl", "{\"text\":\"" + std::string(100, 'x') + "\"}\n{\"text\":\"ok\"}\n");
  CorpusOptions opt;
  opt.max_line_bytes = 64;
  EXPECT_CONTAINS(input_error([&] { read_all({path}, opt); }),
                  ":1: expected a JSON line of at most 64 bytes (max_line_bytes), found a longer "
                  "line");
  opt.skip_bad_lines = true;
  EXPECT_EQ(read_all({path}, opt), std::vector<std::string>({"ok"}));
}

TEST(CorpusReader, FileLevelErrors) {
  const std::string missing = temp_path("missing.txt");
  EXPECT_EQ(input_error([&] { CorpusReader r({missing}, {}); }),
            missing + ": expected an existing, readable corpus file, found no such file");
  EXPECT_CONTAINS(input_error([&] { CorpusReader r({testing::TempDir()}, {}); }),
                  "expected a corpus file, found a directory");
  const std::string csv = write_temp("a.csv", "x\n");
  EXPECT_CONTAINS(input_error([&] { CorpusReader r({csv}, {}); }), "found \".csv\"");
  const std::string empty = write_temp("empty.txt", "");
  EXPECT_EQ(input_error([&] { read_all({empty}); }),
            empty + ": expected at least one document, found none (an empty file)");
  const std::string blank = write_temp("blank.txt", "\n  \n\t\n");
  EXPECT_EQ(input_error([&] { read_all({blank}); }),
            blank + ": expected at least one document, found none in 3 lines");
  const std::string not_gz = write_temp("plain.txt.gz", "hello\n");
  EXPECT_EQ(input_error([&] { read_all({not_gz}); }),
            not_gz +
                ": expected gzip data (the file name ends in .gz), found data that does not "
                "start with the gzip magic bytes 1f 8b");
  const std::string empty_gz = write_temp("empty.txt.gz", "");
  EXPECT_CONTAINS(input_error([&] { read_all({empty_gz}); }), "found an empty file");
}

std::string varied_text(size_t lines) {
  std::string s;
  uint32_t x = 12345;
  for (size_t i = 0; i < lines; ++i) {
    const int words = 3 + static_cast<int>(i % 17);
    for (int w = 0; w < words; ++w) {
      x = x * 1664525u + 1013904223u;
      s += "w" + std::to_string(x >> 20) + (w + 1 < words ? " " : "\n");
    }
  }
  return s;
}

TEST(CorpusReader, CorruptAndTruncatedGzip) {
  const std::string text = varied_text(20000);
  std::string gz = read_file(write_gzip("ok.txt.gz", text));
  ASSERT_GT(gz.size(), 4096u);
  std::string corrupt = gz;
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i)
    corrupt[i] = static_cast<char>(~gz[i]);
  const std::string corrupt_path = write_temp("corrupt.txt.gz", corrupt);
  const std::string msg = input_error([&] { read_all({corrupt_path}); });
  EXPECT_EQ(msg.rfind(corrupt_path + ":", 0), 0u) << msg;
  EXPECT_CONTAINS(msg, "expected valid gzip data, found corrupt data (zlib: ");
  EXPECT_EQ(msg.find("(zlib: " + corrupt_path), std::string::npos) << msg;
  // Corruption is never skipped.
  CorpusOptions skip;
  skip.skip_bad_lines = true;
  EXPECT_CONTAINS(input_error([&] { read_all({corrupt_path}, skip); }), "corrupt data");

  const std::string truncated_path = write_temp("cut.txt.gz", gz.substr(0, gz.size() / 2));
  const std::string cut = input_error([&] { read_all({truncated_path}); });
  EXPECT_EQ(cut.rfind(truncated_path + ":", 0), 0u) << cut;
  EXPECT_CONTAINS(cut, "expected the rest of the gzip stream, found the end of the file");
}

TEST(CorpusReader, InvalidOptions) {
  const std::string path = write_temp("a.txt", "x\n");
  auto config_error = [&](const CorpusOptions& opt) {
    return error_of<ConfigError>([&] { CorpusReader r({path}, opt); });
  };
  CorpusOptions opt;
  opt.max_doc_bytes = 8;
  EXPECT_CONTAINS(config_error(opt), "max_doc_bytes: expected at least 16, found 8");
  opt = {};
  opt.epochs = -1;
  EXPECT_CONTAINS(config_error(opt), "epochs");
  opt = {};
  opt.text_field = "";
  EXPECT_CONTAINS(config_error(opt), "text_field");
  EXPECT_CONTAINS(error_of<ConfigError>([] { CorpusReader r({}, {}); }), "at least one file");
}

// ---- long documents ----

TEST(CorpusReader, LongLinesSplitIntoPiecesOrTruncated) {
  const std::string longline = varied_text(40);  // one line after removing the LFs
  std::string one = longline;
  std::replace(one.begin(), one.end(), '\n', ' ');
  const std::string path = write_temp("a.txt", "short\n" + one + "\r\nafter\n");
  CorpusOptions opt;
  opt.max_doc_bytes = 100;
  const std::vector<std::string> docs = read_all({path}, opt);
  ASSERT_GE(docs.size(), 3u);
  EXPECT_EQ(docs.front(), "short");
  EXPECT_EQ(docs.back(), "after");
  std::string joined;
  for (size_t i = 1; i + 1 < docs.size(); ++i) {
    EXPECT_LE(docs[i].size(), 100u);
    EXPECT_FALSE(docs[i].empty());
    joined += docs[i];
  }
  EXPECT_EQ(joined, one);  // no byte lost or repeated; the CR of the CRLF dropped
  CorpusReader reader({path}, opt);
  std::string doc;
  while (reader.next(&doc)) {
  }
  EXPECT_EQ(reader.split_documents(), 1);
  EXPECT_LE(reader.peak_line_bytes(), 100u);

  opt.split_long_docs = false;
  const std::vector<std::string> cut = read_all({path}, opt);
  EXPECT_EQ(cut, std::vector<std::string>({"short", one.substr(0, 100), "after"}));
}

TEST(CorpusReader, SplitsFallOnUtf8CharacterBoundaries) {
  // 2-, 3- and 4-byte characters in runs, so a 16..19 byte cut often falls inside one.
  std::string text;
  for (int i = 0; i < 50; ++i)
    text +=
        "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80"
        "a";
  for (size_t limit = 16; limit < 20; ++limit) {
    CorpusOptions opt;
    opt.max_doc_bytes = limit;
    for (const std::string& path : {write_temp("u.txt", text + "\n"),
                                    write_temp("u.jsonl", "{\"text\":\"" + text + "\"}\n")}) {
      std::string joined;
      const std::vector<std::string> pieces = read_all({path}, opt);
      for (size_t i = 0; i < pieces.size(); ++i) {
        const std::string& d = pieces[i];
        EXPECT_LE(d.size(), limit);
        if (i + 1 < pieces.size()) {
          EXPECT_GE(d.size(), limit - 3);  // at most 3 bytes short
        }
        EXPECT_TRUE(valid_utf8(d)) << path << " limit " << limit;
        joined += d;
      }
      EXPECT_EQ(joined, text) << path;
    }
  }
}

// ---- shards (data-parallel training) ----

TEST(CorpusReader, ShardsSplitTheStreamWithoutOverlapOrLoss) {
  std::vector<std::string> paths;
  for (int f = 0; f < 3; ++f) {
    std::string body;
    for (int d = 0; d < 7; ++d) body += "f" + std::to_string(f) + "d" + std::to_string(d) + "\n";
    paths.push_back(write_temp("s" + std::to_string(f) + ".txt", body));
  }
  CorpusOptions all_opt;
  all_opt.epochs = 2;
  all_opt.seed = 3;
  CorpusReader all(paths, all_opt);
  std::vector<std::string> stream;  // the unsharded stream over 2 epochs: 42 documents
  std::string doc;
  while (all.next(&doc)) stream.push_back(doc);
  ASSERT_EQ(stream.size(), 42u);
  // 4 shards: document k of the stream goes to shard k % 4 (42 = 4 * 10 + 2: shards 0 and 1
  // get 11, shards 2 and 3 get 10), in stream order
  for (int s = 0; s < 4; ++s) {
    CorpusOptions o = all_opt;
    o.shard_count = 4;
    o.shard_index = s;
    CorpusReader r(paths, o);
    std::vector<std::string> got, want;
    while (r.next(&doc)) got.push_back(doc);
    for (size_t k = static_cast<size_t>(s); k < stream.size(); k += 4) want.push_back(stream[k]);
    EXPECT_EQ(got, want) << "shard " << s;
    EXPECT_EQ(got.size(), s < 2 ? 11u : 10u);
  }
  CorpusOptions bad = all_opt;
  bad.shard_count = 2;
  bad.shard_index = 2;
  EXPECT_CONTAINS(error_of<ConfigError>([&] { CorpusReader r(paths, bad); }),
                  "corpus shard: expected 0 <= shard_index < shard_count, found 2 of 2");
}

// ---- epochs and file order ----

TEST(CorpusReader, EpochsVisitEveryFileOncePerEpochInASeededOrder) {
  std::vector<std::string> paths;
  std::map<std::string, std::string> file_of;  // document -> file
  for (int f = 0; f < 6; ++f) {
    std::string body;
    for (int d = 0; d < 3; ++d) {
      const std::string doc = "file" + std::to_string(f) + "-doc" + std::to_string(d);
      body += doc + "\n";
      file_of[doc] = "f" + std::to_string(f) + ".txt";
    }
    paths.push_back(write_temp("f" + std::to_string(f) + ".txt", body));
  }
  CorpusOptions opt;
  opt.epochs = 4;
  opt.seed = 7;
  CorpusReader reader(paths, opt);
  std::vector<std::string> docs;
  std::string doc;
  std::vector<int64_t> epoch_of;
  while (reader.next(&doc)) {
    docs.push_back(doc);
    epoch_of.push_back(reader.epoch());
  }
  ASSERT_EQ(docs.size(), 4u * 18u);
  EXPECT_EQ(reader.bytes_read(), 4 * reader.epoch_bytes());
  EXPECT_EQ(reader.total_bytes(), 4 * reader.epoch_bytes());
  std::set<std::vector<std::string>> orders;
  for (int e = 0; e < 4; ++e) {
    const std::vector<std::string> order = reader.file_order(e);
    std::vector<std::string> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> expected_sorted = paths;
    std::sort(expected_sorted.begin(), expected_sorted.end());
    EXPECT_EQ(sorted, expected_sorted);  // a permutation
    orders.insert(order);
    // The epoch's documents come file by file in that order, each file's in file order.
    for (size_t i = 0; i < 18; ++i) {
      const size_t k = static_cast<size_t>(e) * 18 + i;
      EXPECT_EQ(epoch_of[k], e);
      const std::string& path = order[i / 3];
      EXPECT_EQ(path.substr(path.size() - 6), file_of[docs[k]]);
      EXPECT_EQ(docs[k].back(), static_cast<char>('0' + i % 3));
    }
  }
  EXPECT_GT(orders.size(), 1u);  // the order changes from epoch to epoch
  // Deterministic per seed, different across seeds, the given order without shuffling.
  CorpusReader same(paths, opt);
  EXPECT_EQ(same.file_order(3), reader.file_order(3));
  opt.seed = 8;
  CorpusReader other(paths, opt);
  bool differs = false;
  for (int e = 0; e < 4; ++e) differs |= other.file_order(e) != reader.file_order(e);
  EXPECT_TRUE(differs);
  opt.shuffle_files = false;
  CorpusReader fixed(paths, opt);
  EXPECT_EQ(fixed.file_order(2), paths);
}

TEST(CorpusReader, ZeroEpochsCyclesForever) {
  const std::string path = write_temp("a.txt", "x\ny\n");
  CorpusOptions opt;
  opt.epochs = 0;
  CorpusReader reader({path}, opt);
  std::string doc;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(reader.next(&doc));
    EXPECT_EQ(doc, i % 2 == 0 ? "x" : "y");
  }
  EXPECT_EQ(reader.epoch(), 499);
  EXPECT_EQ(reader.total_bytes(), 0);
  EXPECT_LT(reader.eta_s(), 0);
  EXPECT_CONTAINS(reader.progress_line(), "epoch 500 |");
}

// ---- shuffle buffer ----

std::vector<std::string> shuffled(const std::vector<std::string>& docs, size_t capacity,
                                  uint64_t seed) {
  ShuffleBuffer buf(capacity, seed);
  std::vector<std::string> out;
  std::string o;
  for (const std::string& d : docs) {
    if (buf.push(d, &o)) out.push_back(o);
    EXPECT_LE(buf.size(), capacity);
  }
  while (buf.pop(&o)) out.push_back(o);
  EXPECT_EQ(buf.size(), 0u);
  EXPECT_EQ(buf.bytes(), 0u);
  return out;
}

TEST(ShuffleBuffer, PermutationDeterministicPerSeedDifferentAcrossSeeds) {
  std::vector<std::string> docs;
  for (int i = 0; i < 1000; ++i) docs.push_back("doc" + std::to_string(i));
  const std::vector<std::string> a = shuffled(docs, 50, 1);
  std::vector<std::string> sorted_a = a;
  std::sort(sorted_a.begin(), sorted_a.end());
  std::vector<std::string> sorted_docs = docs;
  std::sort(sorted_docs.begin(), sorted_docs.end());
  EXPECT_EQ(sorted_a, sorted_docs);
  EXPECT_NE(a, docs);
  EXPECT_EQ(shuffled(docs, 50, 1), a);
  EXPECT_NE(shuffled(docs, 50, 2), a);
  // Capacity 1 keeps the order.
  EXPECT_EQ(shuffled(docs, 1, 3), docs);
  // The buffer bounds how far a document can move ahead: it leaves no earlier than it came in
  // minus the capacity.
  for (size_t k = 0; k < a.size(); ++k) {
    const size_t in = static_cast<size_t>(std::stoi(a[k].substr(3)));
    EXPECT_GE(k + 50, in) << a[k] << " came out at " << k;
  }
}

TEST(ShuffleBuffer, CountsBytesAndRejectsZeroCapacity) {
  ShuffleBuffer buf(3, 0);
  std::string out;
  EXPECT_FALSE(buf.push("ab", &out));
  EXPECT_FALSE(buf.push("cde", &out));
  EXPECT_FALSE(buf.push("f", &out));
  EXPECT_TRUE(buf.full());
  EXPECT_EQ(buf.bytes(), 6u);
  EXPECT_TRUE(buf.push("ghij", &out));
  EXPECT_EQ(buf.bytes(), 6u + 4u - out.size());
  EXPECT_CONTAINS(error_of<ConfigError>([] { ShuffleBuffer b(0, 0); }), "capacity");
}

// ---- packing ----

TEST(SequencePacker, HandExample) {
  PackerOptions opt;
  opt.seq_len = 4;
  SequencePacker packer(opt);
  packer.add("ab");
  EXPECT_FALSE(packer.ready());
  packer.add("cde");
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  ASSERT_TRUE(packer.next(&ids, &mask));
  const int32_t a = 'a' + kByteOffset;
  EXPECT_EQ(ids, std::vector<int32_t>({a, a + 1, kEosId, a + 2}));
  EXPECT_EQ(mask, std::vector<uint8_t>({1, 1, 1, 1}));
  EXPECT_FALSE(packer.next(&ids, &mask));
  ASSERT_TRUE(packer.flush(&ids, &mask));
  EXPECT_EQ(ids, std::vector<int32_t>({a + 3, a + 4, kEosId, kPadId}));
  EXPECT_EQ(mask, std::vector<uint8_t>({1, 1, 1, 0}));
  EXPECT_FALSE(packer.flush(&ids, &mask));
  EXPECT_EQ(packer.documents(), 2);
  EXPECT_EQ(packer.sequences(), 2);
}

TEST(SequencePacker, IdsMatchTheTokenizerAndLowercaseOption) {
  const std::string doc = "Hello \xC3\x89T\xE9 Z!";  // upper-case ASCII, UTF-8 and a stray byte
  for (bool lower : {false, true}) {
    PackerOptions opt;
    opt.seq_len = static_cast<int>(doc.size()) + 1;
    opt.lowercase_ascii = lower;
    opt.separator_id = kUnkId;
    SequencePacker packer(opt);
    packer.add(doc);
    std::vector<int32_t> ids;
    std::vector<uint8_t> mask;
    ASSERT_TRUE(packer.next(&ids, &mask));
    std::vector<int32_t> expected = ByteTokenizer(1000, lower).encode(doc);
    expected.push_back(kUnkId);
    EXPECT_EQ(ids, expected);
  }
}

TEST(SequencePacker, EveryByteOnceAndSeparatorsWhereDocumentsEnd) {
  std::vector<std::string> docs;
  uint32_t x = 99;
  for (int i = 0; i < 300; ++i) {
    x = x * 1664525u + 1013904223u;
    std::string d(x % 40, '\0');  // lengths 0..39, longer than seq_len or empty
    for (char& c : d) {
      x = x * 1664525u + 1013904223u;
      c = static_cast<char>(x >> 24);  // any byte value
    }
    docs.push_back(d);
  }
  PackerOptions opt;
  opt.seq_len = 7;
  SequencePacker packer(opt);
  std::vector<int32_t> stream;
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  int full = 0;
  for (const std::string& d : docs) {
    packer.add(d);
    while (packer.next(&ids, &mask)) {
      ASSERT_EQ(ids.size(), 7u);
      EXPECT_EQ(mask, std::vector<uint8_t>(7, 1));
      stream.insert(stream.end(), ids.begin(), ids.end());
      ++full;
    }
    EXPECT_LT(packer.pending(), 7u);
  }
  ASSERT_TRUE(packer.flush(&ids, &mask));
  for (size_t t = 0; t < ids.size(); ++t) {
    EXPECT_EQ(mask[t], ids[t] == kPadId ? 0 : 1);
    if (ids[t] != kPadId) stream.push_back(ids[t]);
  }
  // Split the stream on the separator: exactly the documents, in order, every byte once.
  std::vector<std::string> back;
  std::string cur;
  for (int32_t id : stream) {
    if (id == kEosId) {
      back.push_back(cur);
      cur.clear();
    } else {
      ASSERT_GE(id, kByteOffset);
      ASSERT_LT(id, kVocabSize);
      cur += static_cast<char>(id - kByteOffset);
    }
  }
  EXPECT_TRUE(cur.empty());
  EXPECT_EQ(back, docs);
  EXPECT_EQ(packer.sequences(), full + 1);
}

TEST(SequencePacker, InvalidOptions) {
  PackerOptions opt;
  opt.seq_len = 1;
  EXPECT_CONTAINS(error_of<ConfigError>([&] { SequencePacker p(opt); }), "seq_len");
  opt.seq_len = 8;
  opt.separator_id = 65;
  EXPECT_CONTAINS(error_of<ConfigError>([&] { SequencePacker p(opt); }),
                  "expected a special id in [0, 3)");
}

// ---- the whole stream ----

TEST(PackedBatchStream, BatchesCarryEveryByteOfEveryEpoch) {
  std::string body;
  int64_t bytes = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string d = "document number " + std::to_string(i);
    body += d + "\n";
    bytes += static_cast<int64_t>(d.size());
  }
  const std::string a = write_temp("a.txt", body);
  const std::string b = write_gzip("b.jsonl.gz", "{\"text\":\"JSON Doc\"}\n{\"text\":\"x\"}\n");
  bytes += 8 + 1;
  for (bool keep_last : {true, false}) {
    PackedBatchOptions opt;
    opt.corpus.epochs = 3;
    opt.shuffle_capacity = 16;
    opt.packer.seq_len = 32;
    opt.batch_size = 5;
    opt.keep_last = keep_last;
    PackedBatchStream stream({a, b}, opt);
    PackedBatch batch;
    int64_t real = 0, seps = 0, rows = 0;
    while (stream.next(&batch)) {
      EXPECT_EQ(batch.seq_len, 32);
      ASSERT_EQ(batch.ids.size(), static_cast<size_t>(batch.rows) * 32);
      ASSERT_EQ(batch.mask.size(), batch.ids.size());
      if (!keep_last) {
        EXPECT_EQ(batch.rows, 5);
      }
      for (size_t t = 0; t < batch.ids.size(); ++t) {
        EXPECT_EQ(batch.mask[t], batch.ids[t] == kPadId ? 0 : 1);
        real += batch.ids[t] >= kByteOffset;
        seps += batch.ids[t] == kEosId;
      }
      rows += batch.rows;
    }
    EXPECT_EQ(stream.reader().documents(), 3 * 202);
    const int64_t ids = 3 * (bytes + 202);
    if (keep_last) {
      EXPECT_EQ(real, 3 * bytes);
      EXPECT_EQ(seps, 3 * 202);
      EXPECT_EQ(rows, (ids + 31) / 32);
    } else {
      EXPECT_EQ(rows, ids / 32 / 5 * 5);
    }
  }
}

// ---- bounded memory ----

int64_t peak_rss_kib() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

TEST(CorpusMemory, FiftyMegabyteGzipStreamWithSmallBuffers) {
  // 50 MB of text (written to gzip in 1 MB blocks, never held whole): short lines, and one
  // 8 MB line in the middle.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string path = temp_path("big.txt.gz");
  gzFile gz = gzopen(path.c_str(), "wb1");
  ASSERT_NE(gz, nullptr);
  const std::string block = varied_text(9000);  // ~1 MB of short lines
  int64_t written = 0, lines = 0, text_bytes = 0;
  for (char c : block) lines += c == '\n';
  for (int i = 0; written < 50'000'000; ++i) {
    if (i == 20) {
      const std::string part(size_t{1} << 20, 'z');
      for (int k = 0; k < 8; ++k) {
        ASSERT_EQ(gzwrite(gz, part.data(), static_cast<unsigned>(part.size())),
                  static_cast<int>(part.size()));
      }
      ASSERT_EQ(gzwrite(gz, "\n", 1), 1);
      written += 8 * static_cast<int64_t>(part.size()) + 1;
      text_bytes += 8 * static_cast<int64_t>(part.size());
    }
    ASSERT_EQ(gzwrite(gz, block.data(), static_cast<unsigned>(block.size())),
              static_cast<int>(block.size()));
    written += static_cast<int64_t>(block.size());
    text_bytes += static_cast<int64_t>(block.size()) - lines;
  }
  ASSERT_EQ(gzclose(gz), Z_OK);

  const int64_t rss_before = peak_rss_kib();
  PackedBatchOptions opt;
  opt.corpus.max_doc_bytes = 64 << 10;
  opt.shuffle_capacity = 256;
  opt.packer.seq_len = 256;
  opt.batch_size = 16;
  PackedBatchStream stream({path}, opt);
  PackedBatch batch;
  int64_t real = 0;
  while (stream.next(&batch)) {
    for (int32_t id : batch.ids) real += id >= kByteOffset;
    EXPECT_LE(stream.shuffle().bytes(), 256u * (64u << 10));
  }
  const CorpusReader& reader = stream.reader();
  EXPECT_EQ(real, text_bytes);  // every byte of the stream, once
  EXPECT_EQ(reader.document_bytes(), text_bytes);
  EXPECT_EQ(reader.split_documents(), 1);  // the 8 MB line
  EXPECT_LE(reader.peak_line_bytes(), size_t{64} << 10);
  EXPECT_EQ(reader.bytes_read(), reader.epoch_bytes());
  EXPECT_GT(reader.bytes_per_s(), 0);
  EXPECT_CONTAINS(reader.progress_line(), "MB/s");
  const int64_t grown_kib = peak_rss_kib() - rss_before;
  if (!kSanitized) {
    // The text is 50 MB (and 200 MB as int32 ids): a reader that held it would grow by more.
    EXPECT_LT(grown_kib, 24 * 1024) << "peak RSS grew by " << grown_kib << " KiB";
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("50 MB stream: %.2f s, peak RSS +%lld KiB, %s\n", s,
              static_cast<long long>(grown_kib), reader.progress_line().c_str());
  std::remove(path.c_str());
}

// ---- the bundled corpus ----

struct Bundled {
  const char* file;
  int64_t documents;
  int64_t bytes;
};

// The counts data/pretrain/SOURCE.md documents.
const Bundled kBundled[] = {
    {"tweets.txt.gz", 61168, 4731138},
    {"multilingual.jsonl.gz", 141013, 23895223},
    {"heldout.jsonl.gz", 2067, 325885},
};

TEST(BundledCorpus, FilesReadWithoutErrorAndHaveTheDocumentedCounts) {
  const std::string dir = std::string(BYTELITE_SOURCE_DIR) + "/data/pretrain/";
  const std::string source_md = read_file(dir + "SOURCE.md");
  for (const Bundled& b : kBundled) {
    CorpusReader reader({dir + b.file}, {});
    std::string doc;
    std::set<std::string> seen;
    int64_t dups = 0;
    while (reader.next(&doc)) dups += !seen.insert(doc).second;
    EXPECT_EQ(reader.documents(), b.documents) << b.file;
    EXPECT_EQ(reader.bad_lines(), 0);
    EXPECT_EQ(reader.split_documents(), 0);
    EXPECT_EQ(dups, 0) << b.file;
    // SOURCE.md's table row: | `file` | documents | text bytes | ...
    auto with_commas = [](int64_t n) {
      std::string s = std::to_string(n);
      for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
      return s;
    };
    EXPECT_CONTAINS(source_md, "| `" + std::string(b.file) + "` | " + with_commas(b.documents) +
                                   " | " + with_commas(reader.document_bytes()) + " |");
    EXPECT_EQ(reader.document_bytes(), b.bytes) << b.file;
  }
}

}  // namespace
}  // namespace bytelite
