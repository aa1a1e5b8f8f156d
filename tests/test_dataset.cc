// Readers for TSV, CSV and JSONL, and their error messages (robustness case C9).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/dataset.h"
#include "core/errors.h"
#include "core/quote.h"
#include "runtime/ops/projection.h"

namespace bytelite {
namespace {

// Writes `bytes` to a file in the test temp dir and returns its path.
std::string write_temp(const std::string& name, const std::string& bytes) {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  const std::string path =
      testing::TempDir() + "bytelite_" + info->test_suite_name() + "_" + info->name() + "_" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  EXPECT_TRUE(out.good()) << path;
  return path;
}

// The message of the InputError that f throws ("" and a test failure if it throws none).
std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

#define EXPECT_CONTAINS(haystack, needle)                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
      << "expected to find [" << (needle) << "] in [" << (haystack) << "]"

std::vector<std::string> texts_of(const Dataset& ds) {
  std::vector<std::string> t;
  for (const Example& e : ds.examples) t.push_back(e.text);
  return t;
}

std::vector<int32_t> labels_of(const Dataset& ds) {
  std::vector<int32_t> l;
  for (const Example& e : ds.examples) l.push_back(e.label);
  return l;
}

DataSpec multilabel_spec(std::vector<std::string> columns) {
  DataSpec spec;
  spec.label_columns = std::move(columns);
  return spec;
}

// ---- well-formed files ----

TEST(DatasetTsv, ReadsRowsAndInfersClassesLexicographically) {
  const std::string path = write_temp(
      "a.tsv",
      "text\tlabel\nyou are great\tnot-offensive\nshut up\toffensive\nhi\tnot-offensive\n");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(ds.path, path);
  EXPECT_FALSE(ds.multilabel);
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"not-offensive", "offensive"}));
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"you are great", "shut up", "hi"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({0, 1, 0}));
  EXPECT_EQ(ds.skipped_rows, 0);
  for (const Example& e : ds.examples) EXPECT_TRUE(e.targets.empty());
}

TEST(DatasetTsv, IntegerLabelsSortNumerically) {
  const std::string path = write_temp("a.tsv", "text\tlabel\na\t10\nb\t2\nc\t1\nd\t-3\ne\t2\n");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"-3", "1", "2", "10"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({3, 2, 1, 0, 2}));
}

TEST(DatasetTsv, MixedLabelsSortLexicographically) {
  const std::string path = write_temp("a.tsv", "text\tlabel\na\t10\nb\t2\nc\tx\n");
  EXPECT_EQ(read_dataset(path, DataSpec{}).label_names, std::vector<std::string>({"10", "2", "x"}));
}

TEST(DatasetTsv, MultiClassWithKnownLabelOrder) {
  const std::string path =
      write_temp("a.tsv", "text\tlabel\nx\tneither\ny\thate\nz\toffensive\nw\tneither\n");
  const Dataset ds = read_dataset(path, DataSpec{}, {"hate", "offensive", "neither"});
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"hate", "offensive", "neither"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({2, 0, 1, 2}));
  // Inferred: lexicographic.
  EXPECT_EQ(read_dataset(path, DataSpec{}).label_names,
            std::vector<std::string>({"hate", "neither", "offensive"}));
}

TEST(DatasetTsv, BomAndCrlfLineEnds) {
  const std::string path =
      write_temp("a.tsv", "\xEF\xBB\xBFtext\tlabel\r\nfirst row\tpos\r\nsecond\tneg\r\n");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"first row", "second"}));
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"neg", "pos"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({1, 0}));
}

TEST(DatasetTsv, ColumnOrderExtraColumnsBlankLinesAndNoFinalNewline) {
  const std::string path =
      write_temp("a.tsv", "id\tlabel\ttext\n1\t1\thello \"world\"\n\n2\t0\t  spaced  ");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"hello \"world\"", "  spaced  "}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({1, 0}));
}

TEST(DatasetTsv, RawBytesArePreserved) {
  const std::string text("bad \xff\xfe\xc3\x28 nul \0 end", 19);
  const std::string path = write_temp("a.tsv", "text\tlabel\n" + text + "\tx\n");
  const Dataset ds = read_dataset(path, DataSpec{});
  ASSERT_EQ(ds.examples.size(), 1u);
  EXPECT_EQ(ds.examples[0].text, text);
}

TEST(DatasetCsv, QuotedFieldsWithEmbeddedNewlineAndEscapedQuotes) {
  const std::string path = write_temp("a.csv",
                                      "text,label\n"
                                      "\"hello, \"\"world\"\"\nsecond line\",pos\n"
                                      "plain text,neg\n"
                                      "\"\",neg\n"
                                      "\"a\"\"\",\"pos\"\n");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(texts_of(ds),
            std::vector<std::string>({"hello, \"world\"\nsecond line", "plain text", "", "a\""}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({1, 0, 0, 1}));
}

TEST(DatasetCsv, BomCrlfAndLastLineWithoutNewline) {
  const std::string path =
      write_temp("a.csv", "\xEF\xBB\xBFid,text,label\r\n1,\"multi\r\nline\",1\r\n2,last,0");
  const Dataset ds = read_dataset(path, DataSpec{});
  // CRLF inside a quoted field is content and kept as is.
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"multi\r\nline", "last"}));
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"0", "1"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({1, 0}));
}

TEST(DatasetCsv, LineNumbersCountEmbeddedNewlines) {
  // The bad label is on line 4: the quoted field of the row before spans lines 2-3.
  const std::string path = write_temp("a.csv", "text,label\n\"two\nlines\",a\nthird,c\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}, {"a", "b"}); });
  EXPECT_CONTAINS(msg, path + ":4:");
}

TEST(DatasetJsonl, StringIntegerAndBooleanLabels) {
  const std::string path = write_temp("a.jsonl",
                                      "{\"text\": \"caf\\u00e9\\nline\", \"label\": 1}\n"
                                      "\n"
                                      "{\"label\": 0, \"text\": \"b\", \"extra\": [1, 2]}\r\n"
                                      "   \n"
                                      "{\"text\": \"c\", \"label\": true}\n"
                                      "{\"text\": \"d\", \"label\": \"1\"}\n"
                                      "{\"text\": \"e\", \"label\": 2.0}");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"caf\xc3\xa9\nline", "b", "c", "d", "e"}));
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"0", "1", "2"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({1, 0, 1, 1, 2}));
}

TEST(DatasetJsonl, JsonExtensionAndBom) {
  const std::string path =
      write_temp("a.json", "\xEF\xBB\xBF{\"text\": \"x\", \"label\": \"hate\"}\n");
  const Dataset ds = read_dataset(path, DataSpec{});
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"hate"}));
}

TEST(DatasetMultiLabel, FractionalTargetsInCsv) {
  const std::string path = write_temp("a.csv",
                                      "text,toxic,insult,threat\n"
                                      "a,0.3333333,1,0\n"
                                      "b,true,false,0.5\n"
                                      "c, 1.0 ,0,FALSE\n");
  const Dataset ds = read_dataset(path, multilabel_spec({"toxic", "insult", "threat"}));
  EXPECT_TRUE(ds.multilabel);
  EXPECT_EQ(ds.label_names, std::vector<std::string>({"toxic", "insult", "threat"}));
  ASSERT_EQ(ds.examples.size(), 3u);
  EXPECT_EQ(ds.examples[0].targets, std::vector<float>({0.3333333f, 1.0f, 0.0f}));
  EXPECT_EQ(ds.examples[1].targets, std::vector<float>({1.0f, 0.0f, 0.5f}));
  EXPECT_EQ(ds.examples[2].targets, std::vector<float>({1.0f, 0.0f, 0.0f}));
  for (const Example& e : ds.examples) EXPECT_EQ(e.label, -1);
}

TEST(DatasetMultiLabel, TargetsInJsonl) {
  const std::string path = write_temp("a.jsonl",
                                      "{\"text\": \"a\", \"toxic\": 0.25, \"insult\": true}\n"
                                      "{\"text\": \"b\", \"toxic\": 1, \"insult\": \"0.75\"}\n");
  const Dataset ds = read_dataset(path, multilabel_spec({"toxic", "insult"}));
  ASSERT_EQ(ds.examples.size(), 2u);
  EXPECT_EQ(ds.examples[0].targets, std::vector<float>({0.25f, 1.0f}));
  EXPECT_EQ(ds.examples[1].targets, std::vector<float>({1.0f, 0.75f}));
}

TEST(DatasetReadTexts, NeedsOnlyTheTextColumn) {
  const std::string tsv = write_temp("a.tsv", "text\nfirst\nsecond\n");
  EXPECT_EQ(read_texts(tsv, DataSpec{}), std::vector<std::string>({"first", "second"}));
  const std::string jsonl =
      write_temp("a.jsonl", "{\"text\": \"x\"}\n{\"text\": \"y\", \"label\": 3}\n");
  EXPECT_EQ(read_texts(jsonl, DataSpec{}), std::vector<std::string>({"x", "y"}));
  DataSpec spec;
  spec.text_column = "sentence";
  const std::string csv = write_temp("a.csv", "sentence,label\n\"a, b\",1\n");
  EXPECT_EQ(read_texts(csv, spec), std::vector<std::string>({"a, b"}));
}

TEST(DatasetTextPairs, ReadsSourceAndTargetColumnsInEveryFormat) {
  const std::string tsv =
      write_temp("p.tsv", "id\tword\tphones\n1\tAB\tEY1 B\n2\tAB\tAE B\n\n3\t\t\r\n");
  const TextPairs t = read_text_pairs(tsv, "word", "phones");
  ASSERT_EQ(t.pairs.size(), 3u);
  EXPECT_EQ(t.pairs[0].source, "AB");
  EXPECT_EQ(t.pairs[0].target, "EY1 B");
  EXPECT_EQ(t.pairs[1].target, "AE B");
  EXPECT_EQ(t.pairs[1].line, 3);
  EXPECT_EQ(t.pairs[2].source, "");  // empty fields are values, not errors
  EXPECT_EQ(t.pairs[2].target, "");
  EXPECT_EQ(t.pairs[2].line, 5);
  const std::string csv = write_temp("p.csv", "phones,word\n\"a, b\",\"x\ny\"\n");
  const TextPairs c = read_text_pairs(csv, "word", "phones");
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.pairs[0].source, "x\ny");
  EXPECT_EQ(c.pairs[0].target, "a, b");
  const std::string jsonl =
      write_temp("p.jsonl", "{\"src\": \"a\", \"tgt\": \"b\"}\n{\"src\": \"c\", \"tgt\": 3}\n");
  EXPECT_CONTAINS(input_error([&] { read_text_pairs(jsonl, "src", "tgt"); }),
                  ":2: expected a string value for \"tgt\", found the number 3");
  const TextPairs j = read_text_pairs(jsonl, "src", "tgt", DataFormat::kAuto, true);
  ASSERT_EQ(j.pairs.size(), 1u);
  EXPECT_EQ(j.skipped_rows, 1);
  EXPECT_EQ(j.pairs[0].target, "b");
  EXPECT_CONTAINS(input_error([&] { read_text_pairs(tsv, "word", "pron"); }),
                  "expected a column named \"pron\" in the header");
  EXPECT_THROW(read_text_pairs(tsv, "word", "word"), ConfigError);
}

TEST(DatasetFormat, DetectAndForce) {
  EXPECT_EQ(detect_format("x/y.tsv"), DataFormat::kTsv);
  EXPECT_EQ(detect_format("y.CSV"), DataFormat::kCsv);
  EXPECT_EQ(detect_format("y.jsonl"), DataFormat::kJsonl);
  EXPECT_EQ(detect_format("y.json"), DataFormat::kJsonl);
  EXPECT_CONTAINS(input_error([] { detect_format("data.v1/train.txt"); }), "\".txt\"");
  EXPECT_CONTAINS(input_error([] { detect_format("data.v1/train"); }), "no extension");
  // A forced format ignores the extension.
  const std::string path = write_temp("data.txt", "text,label\n\"a\tb\",1\n");
  DataSpec spec;
  spec.format = DataFormat::kCsv;
  EXPECT_EQ(read_dataset(path, spec).examples.at(0).text, "a\tb");
}

// ---- errors: file name, line number, what was expected, what was found ----

TEST(DatasetErrors, MissingFile) {
  const std::string path = testing::TempDir() + "bytelite_no_such_file.tsv";
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "no such file");
}

TEST(DatasetErrors, EmptyFileAndHeaderOnly) {
  const std::string empty = write_temp("empty.tsv", "");
  std::string msg = input_error([&] { read_dataset(empty, DataSpec{}); });
  EXPECT_CONTAINS(msg, empty + ":1:");
  EXPECT_CONTAINS(msg, "header");
  EXPECT_CONTAINS(msg, "empty file");
  const std::string bom_only = write_temp("bom.csv", "\xEF\xBB\xBF");
  EXPECT_CONTAINS(input_error([&] { read_dataset(bom_only, DataSpec{}); }), "header");
  const std::string header_only = write_temp("h.tsv", "text\tlabel\n");
  msg = input_error([&] { read_dataset(header_only, DataSpec{}); });
  EXPECT_CONTAINS(msg, header_only + ":2:");
  EXPECT_CONTAINS(msg, "at least one data row");
  const std::string empty_jsonl = write_temp("empty.jsonl", "\n\n");
  EXPECT_CONTAINS(input_error([&] { read_dataset(empty_jsonl, DataSpec{}); }), empty_jsonl + ":1:");
}

TEST(DatasetErrors, MissingLabelColumnListsAvailableColumns) {
  const std::string path = write_temp("a.tsv", "\xEF\xBB\xBFtweet\ttext\tclass\r\nx\ty\t1\r\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":1:");
  EXPECT_CONTAINS(msg, "expected a column named \"label\"");
  EXPECT_CONTAINS(msg, "\"tweet\", \"text\", \"class\"");
  // File-level problems are not skipped.
  DataSpec skip;
  skip.skip_bad_rows = true;
  EXPECT_CONTAINS(input_error([&] { read_dataset(path, skip); }), "\"label\"");
}

TEST(DatasetErrors, MissingTextColumn) {
  const std::string path = write_temp("a.csv", "sentence,label\nx,1\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":1:");
  EXPECT_CONTAINS(msg, "\"text\"");
  EXPECT_CONTAINS(msg, "\"sentence\", \"label\"");
}

TEST(DatasetErrors, MissingMultiLabelColumn) {
  const std::string path = write_temp("a.csv", "text,toxic\nx,1\n");
  const std::string msg = input_error([&] {
    read_dataset(path, multilabel_spec({"toxic", "insult"}));
  });
  EXPECT_CONTAINS(msg, path + ":1:");
  EXPECT_CONTAINS(msg, "\"insult\"");
}

TEST(DatasetErrors, WrongNumberOfFields) {
  const std::string path = write_temp("a.tsv", "text\tlabel\nok\t1\nhas\ta tab\t1\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "expected 2 tab-separated fields");
  EXPECT_CONTAINS(msg, "found 3");
  const std::string csv = write_temp("a.csv", "text,label\nok,1\nonly one field\n");
  const std::string msg2 = input_error([&] { read_dataset(csv, DataSpec{}); });
  EXPECT_CONTAINS(msg2, csv + ":3:");
  EXPECT_CONTAINS(msg2, "expected 2 comma-separated fields");
  EXPECT_CONTAINS(msg2, "found 1");
}

TEST(DatasetErrors, UnterminatedCsvQuoteReportsTheLineWhereItStarted) {
  const std::string path = write_temp("a.csv", "text,label\na,x\n\"broken,y\nb,x\nc,y\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "expected a closing '\"'");
  EXPECT_CONTAINS(msg, "end of file");
  // Skipped: parsing resumes on the next line.
  DataSpec skip;
  skip.skip_bad_rows = true;
  const Dataset ds = read_dataset(path, skip);
  EXPECT_EQ(ds.skipped_rows, 1);
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"a", "b", "c"}));
}

TEST(DatasetErrors, UnterminatedQuoteInsideARowAndInTheHeader) {
  const std::string path = write_temp("a.csv", "text,label\r\nok,x\r\nfine,\"x\r\n");
  EXPECT_CONTAINS(input_error([&] { read_dataset(path, DataSpec{}); }), path + ":3:");
  const std::string header = write_temp("h.csv", "\"text,label\nok,x\n");
  EXPECT_CONTAINS(input_error([&] { read_dataset(header, DataSpec{}); }), header + ":1:");
}

TEST(DatasetErrors, CharactersAfterClosingQuote) {
  const std::string path = write_temp("a.csv", "text,label\n\"quoted\"junk,x\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":2:");
  EXPECT_CONTAINS(msg, "found \"j\"");
}

TEST(DatasetErrors, LabelNotInKnownList) {
  const std::string path = write_temp("a.tsv", "text\tlabel\r\nx\toffensive\r\ny\tOFFENSIVE\r\n");
  const std::string msg = input_error([&] {
    read_dataset(path, DataSpec{}, {"not-offensive", "offensive"});
  });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "\"not-offensive\", \"offensive\"");
  EXPECT_CONTAINS(msg, "found \"OFFENSIVE\"");
}

TEST(DatasetErrors, EmptyLabelField) {
  const std::string path = write_temp("a.tsv", "text\tlabel\nx\t1\ny\t \n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "non-empty label");
  EXPECT_CONTAINS(msg, "empty field");
}

TEST(DatasetErrors, MultiLabelTargetOutOfRangeOrNotANumber) {
  const DataSpec spec = multilabel_spec({"toxic", "insult"});
  for (const std::string bad : {"1.5", "-0.1", "abc", "nan", "", "0.5x"}) {
    const std::string path =
        write_temp("a.tsv", "text\ttoxic\tinsult\na\t0\t1\nb\t0\t" + bad + "\n");
    const std::string msg = input_error([&] { read_dataset(path, spec); });
    EXPECT_CONTAINS(msg, path + ":3:");
    EXPECT_CONTAINS(msg, "target in [0, 1]");
    EXPECT_CONTAINS(msg, "\"insult\"");
    EXPECT_CONTAINS(msg, bad.empty() ? std::string("empty field") : "\"" + bad + "\"");
  }
  const std::string jsonl =
      write_temp("a.jsonl", "{\"text\": \"a\", \"toxic\": 2, \"insult\": 0}\n");
  const std::string msg = input_error([&] { read_dataset(jsonl, spec); });
  EXPECT_CONTAINS(msg, jsonl + ":1:");
  EXPECT_CONTAINS(msg, "found the number 2");
}

TEST(DatasetErrors, InvalidJson) {
  const std::string path =
      write_temp("a.jsonl", "{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": 1\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "expected a JSON object");
  EXPECT_CONTAINS(msg, "invalid JSON");
  const std::string array = write_temp("b.jsonl", "[1, 2]\n");
  EXPECT_CONTAINS(input_error([&] { read_dataset(array, DataSpec{}); }), "found an array");
}

TEST(DatasetErrors, JsonValueOfWrongType) {
  const std::string text = write_temp("a.jsonl", "{\"text\": 5, \"label\": 1}\n");
  std::string msg = input_error([&] { read_dataset(text, DataSpec{}); });
  EXPECT_CONTAINS(msg, text + ":1:");
  EXPECT_CONTAINS(msg, "expected a string value for \"text\"");
  EXPECT_CONTAINS(msg, "found the number 5");
  const std::string label =
      write_temp("b.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"a\", \"label\": {}}\n");
  msg = input_error([&] { read_dataset(label, DataSpec{}); });
  EXPECT_CONTAINS(msg, label + ":2:");
  EXPECT_CONTAINS(msg, "string, integer or boolean label");
  EXPECT_CONTAINS(msg, "found an object");
  const std::string frac = write_temp("c.jsonl", "{\"text\": \"a\", \"label\": 0.5}\n");
  EXPECT_CONTAINS(input_error([&] { read_dataset(frac, DataSpec{}); }), "found the number 0.5");
  const std::string null_label = write_temp("d.jsonl", "{\"text\": \"a\", \"label\": null}\n");
  EXPECT_CONTAINS(input_error([&] { read_dataset(null_label, DataSpec{}); }), "found null");
}

TEST(DatasetErrors, JsonMissingKey) {
  const std::string path = write_temp("a.jsonl", "{\"text\": \"a\", \"lbl\": 1}\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":1:");
  EXPECT_CONTAINS(msg, "expected the key \"label\"");
  EXPECT_CONTAINS(msg, "\"lbl\"");
}

TEST(DatasetErrors, LineNumbersWithBomAndCrlf) {
  const std::string path = write_temp("a.tsv", "\xEF\xBB\xBFtext\tlabel\r\na\tx\r\nb\r\nc\tx\r\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}); });
  EXPECT_CONTAINS(msg, path + ":3:");
  EXPECT_CONTAINS(msg, "found 1");
}

TEST(DatasetErrors, MessagesAreOneLineEvenForControlBytes) {
  const std::string path = write_temp("a.tsv", "text\tlabel\nx\tbad\x01label\r\r\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}, {"a"}); });
  EXPECT_CONTAINS(msg, "\\x01");
}

TEST(QuoteText, EscapesInvalidUtf8AndControlBytesAndCutsAtACharacter) {
  // valid 2-, 3- and 4-byte characters are kept; a lone continuation byte, a truncated sequence,
  // an overlong form and 0xFF become \xNN
  EXPECT_EQ(quote_text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  EXPECT_EQ(quote_text("a\x80"
                       "b\xE2\x82 c\xC0\xAF\xFF"),
            "\"a\\x80b\\xe2\\x82 c\\xc0\\xaf\\xff\"");
  EXPECT_EQ(quote_text("q\"b\\t\tn\nr\r\x01\x7F"), "\"q\\\"b\\\\t\\tn\\nr\\r\\x01\\x7f\"");
  // cut: at most max_bytes of the input, never inside a character
  EXPECT_EQ(quote_text("abcdef", 4), "\"abcd\"...");
  EXPECT_EQ(quote_text("ab\xE2\x82\xAC", 4), "\"ab\"...");
  EXPECT_EQ(quote_text("ab\xE2\x82\xAC", 5), "\"ab\xE2\x82\xAC\"");
  EXPECT_EQ(quote_text(""), "\"\"");
}

TEST(DatasetErrors, InvalidUtf8InARowIsEscapedInTheMessage) {
  const std::string path = write_temp("a.tsv", "text\tlabel\nx\tbad\xFF\xC3label\n");
  const std::string msg = input_error([&] { read_dataset(path, DataSpec{}, {"a"}); });
  EXPECT_CONTAINS(msg, "bad\\xff\\xc3label");
  EXPECT_TRUE(is_valid_utf8(msg)) << msg;
  // JSONL: the parser's own message quotes the bytes it read; they are escaped too
  const std::string jl = write_temp("a.jsonl", "{\"text\": \"a\xff\", \"label\": \"x\"}\n");
  const std::string jmsg = input_error([&] { read_dataset(jl, DataSpec{}, {"x"}); });
  EXPECT_CONTAINS(jmsg, "\\xff");
  EXPECT_TRUE(is_valid_utf8(jmsg)) << jmsg;
}

TEST(DatasetSkipBadRows, CountsSkippedRows) {
  const std::string path = write_temp("a.tsv",
                                      "text\tlabel\n"
                                      "good one\tpos\n"
                                      "too\tmany\tfields\n"
                                      "empty label\t\n"
                                      "unknown\tmaybe\n"
                                      "good two\tneg\n");
  DataSpec spec;
  spec.skip_bad_rows = true;
  const Dataset ds = read_dataset(path, spec, {"neg", "pos"});
  EXPECT_EQ(ds.skipped_rows, 3);
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"good one", "good two"}));
  EXPECT_EQ(labels_of(ds), std::vector<int32_t>({1, 0}));
  // Without the option the first bad row throws.
  EXPECT_CONTAINS(input_error([&] {
                    read_dataset(path, DataSpec{}, {"neg", "pos"});
                  }),
                  path + ":3:");
}

TEST(DatasetSkipBadRows, JsonlAndMultiLabel) {
  const std::string path = write_temp("a.jsonl",
                                      "{\"text\": \"a\", \"toxic\": 0.5, \"insult\": 0}\n"
                                      "not json\n"
                                      "{\"text\": \"b\", \"toxic\": 7, \"insult\": 0}\n"
                                      "{\"text\": \"c\", \"toxic\": 1}\n"
                                      "{\"text\": \"d\", \"toxic\": false, \"insult\": true}\n");
  DataSpec spec = multilabel_spec({"toxic", "insult"});
  spec.skip_bad_rows = true;
  const Dataset ds = read_dataset(path, spec);
  EXPECT_EQ(ds.skipped_rows, 3);
  EXPECT_EQ(texts_of(ds), std::vector<std::string>({"a", "d"}));
}

TEST(DatasetSkipBadRows, AllRowsBadStillThrows) {
  const std::string path = write_temp("a.tsv", "text\tlabel\na\tb\tc\n");
  DataSpec spec;
  spec.skip_bad_rows = true;
  const std::string msg = input_error([&] { read_dataset(path, spec); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "1 malformed rows skipped");
}

TEST(DatasetSpec, InvalidSpecIsAConfigError) {
  const std::string path = write_temp("a.tsv", "text\tlabel\na\tb\n");
  DataSpec none;
  none.label_columns.clear();
  EXPECT_THROW(read_dataset(path, none), ConfigError);
  DataSpec same;
  same.label_columns = {"text"};
  EXPECT_THROW(read_dataset(path, same), ConfigError);
}

// ---- the data files shipped in data/ (built by scripts/prepare_data.py) ----

std::vector<int64_t> class_counts(const Dataset& ds) {
  std::vector<int64_t> c(ds.label_names.size(), 0);
  for (const Example& e : ds.examples) ++c.at(static_cast<size_t>(e.label));
  return c;
}

TEST(DatasetShippedData, OlidCounts) {
  const std::string dir = std::string(BYTELITE_SOURCE_DIR) + "/data/olid/";
  const std::vector<std::string> names = {"not-offensive", "offensive"};
  const Dataset train = read_dataset(dir + "train.tsv", DataSpec{});
  EXPECT_EQ(train.label_names, names);  // inferred order puts "offensive" at index 1
  EXPECT_EQ(class_counts(train), std::vector<int64_t>({7975, 3941}));
  EXPECT_EQ(class_counts(read_dataset(dir + "valid.tsv", DataSpec{}, names)),
            std::vector<int64_t>({865, 459}));
  EXPECT_EQ(class_counts(read_dataset(dir + "test.tsv", DataSpec{}, names)),
            std::vector<int64_t>({620, 240}));
}

TEST(DatasetShippedData, DavidsonCounts) {
  const std::string dir = std::string(BYTELITE_SOURCE_DIR) + "/data/davidson/";
  const Dataset train = read_dataset(dir + "train.tsv", DataSpec{});
  EXPECT_EQ(train.label_names, std::vector<std::string>({"hate", "neither", "offensive"}));
  EXPECT_EQ(class_counts(train), std::vector<int64_t>({1266, 3753, 17285}));
  const Dataset test = read_dataset(dir + "test.tsv", DataSpec{}, {"hate", "offensive", "neither"});
  EXPECT_EQ(class_counts(test), std::vector<int64_t>({164, 1905, 410}));
}

// The streaming atomic writer: the destination appears only at commit(), with every byte
// written; a writer dropped before commit() (an exception) leaves the old file and no
// temporary file behind.
TEST(AtomicFileWriter, WritesOnCommitOnlyAndCleansUp) {
  const std::string path = write_temp("atomic_writer.txt", "old");
  const std::string dir = path.substr(0, path.find_last_of('/'));
  auto count_tmp = [&]() {
    return std::system(("ls " + dir + " | grep -q 'atomic_writer.txt.tmp'").c_str()) == 0;
  };
  {
    AtomicFileWriter w(path);
    w.write("new ");
    w.write(std::string(100000, 'x'));
    EXPECT_EQ(read_file(path), "old");
  }
  EXPECT_EQ(read_file(path), "old");
  EXPECT_FALSE(count_tmp());
  {
    AtomicFileWriter w(path);
    w.write("new ");
    w.write(std::string(100000, 'x'));
    w.commit();
  }
  EXPECT_EQ(read_file(path), "new " + std::string(100000, 'x'));
  EXPECT_FALSE(count_tmp());
  EXPECT_THROW(AtomicFileWriter("/nonexistent_dir_h1/x.txt"), Error);
}

}  // namespace
}  // namespace bytelite
