// util/: digests, hex, the registry's name grammar, and the formatting helpers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>

#include "regsweep/util/digest.h"
#include "regsweep/util/format.h"
#include "regsweep/util/hex.h"
#include "regsweep/util/names.h"
#include "regsweep/util/sha256.h"
#include "regsweep/util/style.h"
#include "regsweep/util/table.h"

namespace regsweep {
namespace {

const std::string kHexA = std::string(64, 'a');
// sha256("abc"), FIPS 180-2 test vector.
const std::string kAbcHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// --- Digest ------------------------------------------------------------------------------

TEST(Digest, RoundTrip) {
  std::string text = "sha256:" + kHexA;
  auto d = Digest::parse(text);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->str(), text);
  EXPECT_EQ(d->hex(), kHexA);
  EXPECT_EQ(d->prefix(), "aa");
}

TEST(Digest, Sha256OfKnownVector) {
  Digest d = util::sha256("abc");
  EXPECT_EQ(d.hex(), kAbcHex);
  EXPECT_EQ(d.str(), "sha256:" + kAbcHex);
  EXPECT_EQ(d.prefix(), "ba");
  EXPECT_EQ(d.bytes[0], 0xba);
  EXPECT_EQ(d.bytes[31], 0xad);
  EXPECT_EQ(Digest::parse("sha256:" + kAbcHex), d);
  EXPECT_EQ(Digest::from_hex(kAbcHex), d);
}

TEST(Digest, FromHexRefusesAnythingButSixtyFourLowerHex) {
  EXPECT_TRUE(Digest::from_hex(kAbcHex));
  std::string upper = kAbcHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(Digest::from_hex(upper));
  EXPECT_FALSE(Digest::from_hex(kAbcHex.substr(0, 63)));
  EXPECT_FALSE(Digest::from_hex(kAbcHex + "0"));
  EXPECT_FALSE(Digest::from_hex(""));
  EXPECT_FALSE(Digest::from_hex(std::string(63, 'a') + "g"));
  EXPECT_FALSE(Digest::from_hex(kAbcHex.substr(0, 63) + "\n"));
}

TEST(Digest, ParseRefusesOtherForms) {
  EXPECT_TRUE(Digest::parse("sha256:" + kAbcHex));
  EXPECT_FALSE(Digest::parse(kAbcHex));                                   // no algorithm
  EXPECT_FALSE(Digest::parse("sha256:" + kAbcHex + "\n"));                // trailing newline
  EXPECT_FALSE(Digest::parse(" sha256:" + kAbcHex));                      // leading space
  EXPECT_FALSE(Digest::parse("SHA256:" + kAbcHex));                       // algorithm in upper case
  EXPECT_FALSE(Digest::parse("sha512:" + std::string(128, 'a')));         // other algorithm
  EXPECT_FALSE(Digest::parse("sha512:" + kAbcHex));                       // other algorithm, 64 hex
  EXPECT_FALSE(Digest::parse("sha256:" + kAbcHex.substr(0, 63)));         // 63 hex
  EXPECT_FALSE(Digest::parse("sha256:" + kAbcHex + "a"));                 // 65 hex
  EXPECT_FALSE(Digest::parse("sha256:"));
  EXPECT_FALSE(Digest::parse(""));
}

TEST(Digest, OrdersByBytes) {
  auto low = Digest::from_hex(std::string(63, '0') + "1");
  auto high = Digest::from_hex("1" + std::string(63, '0'));
  ASSERT_TRUE(low && high);
  EXPECT_LT(*low, *high);
  EXPECT_NE(*low, *high);
  EXPECT_EQ(DigestHash{}(*low), DigestHash{}(*Digest::from_hex(std::string(63, '0') + "1")));
}

// --- hex ---------------------------------------------------------------------------------

TEST(Hex, ToHex) {
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xab, 0xff};
  EXPECT_EQ(util::to_hex(bytes, 4), "000fabff");
  EXPECT_EQ(util::to_hex(bytes, 0), "");
}

TEST(Hex, FromLowerHex) {
  std::uint8_t out[4] = {};
  ASSERT_TRUE(util::from_lower_hex("000fabff", out));
  EXPECT_EQ(out[0], 0x00);
  EXPECT_EQ(out[1], 0x0f);
  EXPECT_EQ(out[2], 0xab);
  EXPECT_EQ(out[3], 0xff);
  EXPECT_FALSE(util::from_lower_hex("000FABFF", out));  // upper case
  EXPECT_FALSE(util::from_lower_hex("abc", out));       // odd length
  EXPECT_FALSE(util::from_lower_hex("zz", out));
  EXPECT_TRUE(util::from_lower_hex("", out));
}

TEST(Hex, IsLowerHex) {
  EXPECT_TRUE(util::is_lower_hex("0123456789abcdef"));
  EXPECT_FALSE(util::is_lower_hex("A"));
  EXPECT_FALSE(util::is_lower_hex("g"));
  EXPECT_FALSE(util::is_lower_hex("a "));
}

// --- names -------------------------------------------------------------------------------

TEST(Names, ValidRepositoryNames) {
  for (const char* name : {"app", "team/app", "a/b/c", "a__b", "a--b", "a-b", "a---b", "a.b", "a_b", "0", "a1/2b",
                           "library/ubuntu", "team/app/sub"})
    EXPECT_TRUE(util::is_valid_repository_name(name)) << name;
}

TEST(Names, InvalidRepositoryNames) {
  for (const char* name : {"", "..", ".", "A", "App", "team/App", "a//b", "/a", "a/", "a b", "a___b", "a_.b", "a..b",
                           "-a", "a-", "_a", "a_", ".a", "a.", "a/../b", "a:b", "a@b", "é"})
    EXPECT_FALSE(util::is_valid_repository_name(name)) << '"' << name << '"';
}

TEST(Names, RepositoryNameLength) {
  EXPECT_TRUE(util::is_valid_repository_name(std::string(255, 'a')));
  EXPECT_FALSE(util::is_valid_repository_name(std::string(256, 'a')));
  // 128 components "a/" ... : 255 characters in all is fine, 257 is not.
  std::string nested;
  for (int i = 0; i < 128; ++i) nested += i ? "/a" : "a";
  ASSERT_EQ(nested.size(), 255u);
  EXPECT_TRUE(util::is_valid_repository_name(nested));
  EXPECT_FALSE(util::is_valid_repository_name(nested + "/a"));
}

TEST(Names, NameComponent) {
  EXPECT_TRUE(util::is_valid_name_component("abc"));
  EXPECT_TRUE(util::is_valid_name_component("a__b"));
  EXPECT_FALSE(util::is_valid_name_component("a/b"));
  EXPECT_FALSE(util::is_valid_name_component(""));
}

TEST(Names, Tags) {
  for (const char* tag : {"latest", "v1.0.0", "1", "X", "_x", "A_b-c.d", "sha256-abc.sig", "__"})
    EXPECT_TRUE(util::is_valid_tag(tag)) << tag;
  for (const char* tag : {"", ".x", "-x", "a/b", "a:b", "a b", "a@b", "a+b"})
    EXPECT_FALSE(util::is_valid_tag(tag)) << '"' << tag << '"';
  EXPECT_TRUE(util::is_valid_tag(std::string(128, 'a')));
  EXPECT_FALSE(util::is_valid_tag(std::string(129, 'a')));
}

// --- format ------------------------------------------------------------------------------

TEST(Format, HumanBytes) {
  EXPECT_EQ(util::human_bytes(0), "0 B");
  EXPECT_EQ(util::human_bytes(512), "512 B");
  EXPECT_EQ(util::human_bytes(1023), "1023 B");
  EXPECT_EQ(util::human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(util::human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(util::human_bytes(10 * 1024), "10 KiB");
  EXPECT_EQ(util::human_bytes(300 * 1024), "300 KiB");
  EXPECT_EQ(util::human_bytes(std::uint64_t{5} << 30), "5.0 GiB");
  EXPECT_EQ(util::human_bytes(std::uint64_t{3} << 40), "3.0 TiB");
  EXPECT_EQ(util::human_bytes(std::uint64_t{2} << 50), "2.0 PiB");
  EXPECT_EQ(util::human_bytes(std::uint64_t{2048} << 50), "2048 PiB");  // no unit above PiB
}

TEST(Format, HumanBytesRollsOverToTheNextUnit) {
  EXPECT_EQ(util::human_bytes(1024 * 1024 - 1), "1.0 MiB");
}

TEST(Format, Rfc3339Utc) {
  EXPECT_EQ(util::rfc3339_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(util::rfc3339_utc(1795491925LL * 1'000'000'000 + 999'999'999), "2026-11-24T03:45:25Z");
}

TEST(Format, ParseRfc3339) {
  const std::int64_t s = 1795491925;  // 2026-11-24T03:45:25Z (python calendar.timegm)
  const std::int64_t ns = 1'000'000'000;
  EXPECT_EQ(util::parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T03:45:25Z"), s * ns);
  EXPECT_EQ(util::parse_rfc3339("2024-02-29T23:59:59Z"), 1709251199LL * ns);
  EXPECT_EQ(util::parse_rfc3339(util::rfc3339_utc(s * ns)), s * ns);
}

TEST(Format, ParseRfc3339Fraction) {
  const std::int64_t base = 1795491925LL * 1'000'000'000;
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T03:45:25.123456789Z"), base + 123456789);
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T03:45:25.5Z"), base + 500000000);
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T03:45:25.000000001Z"), base + 1);
  // (The registry writes startedat with time.RFC3339, whole seconds.) Digits past ns are dropped.
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T03:45:25.1234567891Z"), base + 123456789);
}

TEST(Format, ParseRfc3339Offset) {
  const std::int64_t base = 1795491925LL * 1'000'000'000;
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T05:45:25+02:00"), base);
  EXPECT_EQ(util::parse_rfc3339("2026-11-23T22:15:25-05:30"), base);
  EXPECT_EQ(util::parse_rfc3339("2026-11-24T03:45:25.25+00:00"), base + 250000000);
}

TEST(Format, ParseRfc3339Garbage) {
  for (const char* text : {"", "yesterday", "2026-11-24", "2026-11-24T03:45:25", "2026-11-24T03:45Z",
                           "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-32T00:00:00Z",
                           "2026-11-24T24:00:00Z", "2026-11-24T03:60:00Z", "2026-11-24T03:45:25.Z",
                           "2026-11-24T03:45:25Zjunk", "2026-11-24T03:45:25+0200", "2026-11-24X03:45:25Z",
                           "26-11-24T03:45:25Z"})
    EXPECT_FALSE(util::parse_rfc3339(text)) << '"' << text << '"';
}

TEST(Format, ParseRfc3339RefusesNegativeFields) {
  EXPECT_FALSE(util::parse_rfc3339("2026-11-24T-1:00:00Z"));
  EXPECT_FALSE(util::parse_rfc3339("2026-11-24T03:-1:00Z"));
  EXPECT_FALSE(util::parse_rfc3339("2026-11-24T03:45:-1Z"));
}

TEST(Format, ParseDuration) {
  EXPECT_EQ(util::parse_duration_seconds("90s"), 90);
  EXPECT_EQ(util::parse_duration_seconds("30m"), 30 * 60);
  EXPECT_EQ(util::parse_duration_seconds("12h"), 12 * 3600);
  EXPECT_EQ(util::parse_duration_seconds("7d"), 7 * 86400);
  EXPECT_EQ(util::parse_duration_seconds("1w"), 7 * 86400);
  EXPECT_EQ(util::parse_duration_seconds("1h30m"), 3600 + 30 * 60);
  EXPECT_EQ(util::parse_duration_seconds("1d12h30m15s"), 86400 + 12 * 3600 + 30 * 60 + 15);
  EXPECT_EQ(util::parse_duration_seconds("0s"), 0);
}

// Issue #16: `--min-age 0` was refused although `0s` was accepted. Zero is zero in every
// unit; any other bare number stays ambiguous.
TEST(Format, ParseDurationBareZeroIsZeroSeconds) {
  EXPECT_EQ(util::parse_duration_seconds("0"), 0);
  for (const char* text : {"1", "00", "01", "0 ", " 0", "-0", "+0", "0.0", "0x"})
    EXPECT_FALSE(util::parse_duration_seconds(text)) << '"' << text << '"';
}

TEST(Format, ParseDurationRefuses) {
  for (const char* text : {"", "10", "-1h", "1x", "h", "1.5h", "1h 30m", " 1h", "1h30", "+1h", "1H", "1hh"})
    EXPECT_FALSE(util::parse_duration_seconds(text)) << '"' << text << '"';
}

TEST(Format, ParseDurationOverflow) {
  // Durations are turned into nanoseconds: at most INT64_MAX / 1e9 = 9223372036 seconds.
  EXPECT_EQ(util::parse_duration_seconds("9223372036s"), 9223372036LL);
  EXPECT_FALSE(util::parse_duration_seconds("9223372037s"));
  EXPECT_FALSE(util::parse_duration_seconds("99999999999999999999s"));  // over int64 itself
  EXPECT_FALSE(util::parse_duration_seconds("106752d"));
  EXPECT_FALSE(util::parse_duration_seconds("9223372036s1s"));  // the sum overflows
}


// --- colour and local time --------------------------------------------------------------

TEST(ColorMode, Parses) {
  EXPECT_EQ(util::parse_color_mode("auto"), util::ColorMode::Auto);
  EXPECT_EQ(util::parse_color_mode("always"), util::ColorMode::Always);
  EXPECT_EQ(util::parse_color_mode("never"), util::ColorMode::Never);
  EXPECT_EQ(util::parse_color_mode("no"), util::ColorMode::Never);
  EXPECT_FALSE(util::parse_color_mode("purple"));
  EXPECT_FALSE(util::parse_color_mode(""));
}

TEST(ColorMode, AutoNeedsATerminalAndNoNoColor) {
  using util::ColorMode;
  EXPECT_TRUE(util::color_wanted(ColorMode::Auto, true, nullptr, "xterm"));
  EXPECT_FALSE(util::color_wanted(ColorMode::Auto, false, nullptr, "xterm"));
  EXPECT_FALSE(util::color_wanted(ColorMode::Auto, true, "1", "xterm"));
  EXPECT_TRUE(util::color_wanted(ColorMode::Auto, true, "", "xterm"));  // NO_COLOR empty: ignored
  EXPECT_FALSE(util::color_wanted(ColorMode::Auto, true, nullptr, "dumb"));
  EXPECT_TRUE(util::color_wanted(ColorMode::Always, false, "1", "dumb"));
  EXPECT_FALSE(util::color_wanted(ColorMode::Never, true, nullptr, "xterm"));
}

TEST(Style, WrapsOnlyWhenEnabled) {
  EXPECT_EQ(util::Style(false).bold("x"), "x");
  EXPECT_EQ(util::Style(true).bold("x"), "\033[1mx\033[0m");
  EXPECT_EQ(util::Style(true).red(""), "");
}

TEST(Table, BoldHeaderKeepsAlignment) {
  util::Table t({"NAME", "SIZE"}, {false, true});
  t.add_row({"a", "10 B"});
  std::ostringstream plain, styled;
  t.print(plain);
  t.print(styled, util::Style(true));
  EXPECT_EQ(plain.str(), "NAME  SIZE\na     10 B\n");
  EXPECT_EQ(styled.str(), "\033[1mNAME  SIZE\033[0m\na     10 B\n");
}

TEST(Rfc3339, YearsOutsideTheNanosecondRangeAreRefusedNotOverflowed) {
  EXPECT_FALSE(util::parse_rfc3339("9999-12-31T23:59:59Z"));  // found by UBSan (fuzzing report)
  EXPECT_FALSE(util::parse_rfc3339("0001-01-01T00:00:00Z"));  // Go's zero time, in image configs
  EXPECT_TRUE(util::parse_rfc3339("2262-01-01T00:00:00Z"));
  EXPECT_TRUE(util::parse_rfc3339("1678-01-01T00:00:00Z"));
}

TEST(Duration, NoSign) {
  EXPECT_FALSE(util::parse_duration_seconds("-0s"));
  EXPECT_FALSE(util::parse_duration_seconds("1h-0m"));
  EXPECT_FALSE(util::parse_duration_seconds("+5m"));
  EXPECT_EQ(util::parse_duration_seconds("1h30m"), 5400);
}

TEST(LocalTime, FollowsTz) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "JST-9", 1);
  ::tzset();
  EXPECT_EQ(util::local_time(0), "1970-01-01 09:00:00 +0900");
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  EXPECT_EQ(util::local_time(1'700'000'000'000'000'000), "2023-11-14 22:13:20 +0000");
  if (old) ::setenv("TZ", saved.c_str(), 1); else ::unsetenv("TZ");
  ::tzset();
}

}  // namespace
}  // namespace regsweep
