// The registry's logs as it writes them (lines captured from docker-registry 2.8.2 with its
// text and JSON formatters and its access log), bare and wrapped by journalctl and by container
// runtimes; plain and gzip files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "regsweep/error.h"
#include "regsweep/storage/access_log.h"
#include "regsweep/util/format.h"

namespace regsweep::test {
namespace {

using storage::LogLine;

const std::string kText =
    R"(time="2026-12-03T23:32:42.954958659Z" level=info msg="response completed" go.version=go1.19.8 http.request.host="127.0.0.1:34033" )"
    R"(http.request.id=ac62b23f http.request.method=GET http.request.remoteaddr="127.0.0.1:48922" http.request.uri=/v2/team/app/manifests/v1 )"
    R"(http.request.useragent=Python-urllib/3.11 http.response.contenttype=application/vnd.oci.image.manifest.v1+json http.response.duration=9.9ms )"
    R"(http.response.status=200 http.response.written=709)";
const std::string kJson =
    R"({"go.version":"go1.19.8","http.request.host":"127.0.0.1:60819","http.request.method":"GET","http.request.uri":"/v2/team/app/sub/manifests/sha256:78cda3ca464b7a9d5d0e26102581a4099a4d25678c9877cddf9c866caf3f29e8",)"
    R"("http.response.status":200,"http.response.written":709,"level":"info","msg":"response completed","time":"2026-12-03T23:32:43.176416939Z"})";
const std::string kApache = R"(127.0.0.1 - - [03/Dec/2026:23:32:42 +0100] "GET /v2/library/alpine/manifests/3.19 HTTP/1.1" 200 709 "" "Python-urllib/3.11")";

struct Parsed {
  LogLine kind;
  storage::LoggedPull pull;
  std::int64_t time_ns;
};
Parsed parse(const std::string& line) {
  Parsed p;
  p.kind = storage::parse_log_line(line, p.pull, p.time_ns);
  return p;
}
std::int64_t at(const char* rfc3339) { return *util::parse_rfc3339(rfc3339); }

TEST(AccessLog, TheRegistrysThreeFormats) {
  Parsed t = parse(kText);
  ASSERT_EQ(t.kind, LogLine::Pull);
  EXPECT_EQ(t.pull.repository, "team/app");
  EXPECT_EQ(t.pull.reference, "v1");
  EXPECT_EQ(t.pull.time_ns, at("2026-12-03T23:32:42.954958659Z"));

  Parsed j = parse(kJson);
  ASSERT_EQ(j.kind, LogLine::Pull);
  EXPECT_EQ(j.pull.repository, "team/app/sub");
  EXPECT_EQ(j.pull.reference, "sha256:78cda3ca464b7a9d5d0e26102581a4099a4d25678c9877cddf9c866caf3f29e8");
  EXPECT_EQ(j.pull.time_ns, at("2026-12-03T23:32:43.176416939Z"));

  Parsed a = parse(kApache);
  ASSERT_EQ(a.kind, LogLine::Pull);
  EXPECT_EQ(a.pull.repository, "library/alpine");
  EXPECT_EQ(a.pull.reference, "3.19");
  EXPECT_EQ(a.pull.time_ns, at("2026-12-03T22:32:42Z"));  // +0100
}

TEST(AccessLog, WhatIsNoPull) {
  auto replace = [](std::string s, const std::string& from, const std::string& to) { return s.replace(s.find(from), from.size(), to); };
  for (const std::string& line : {
           replace(kText, "method=GET", "method=PUT"), replace(kText, "method=GET", "method=HEAD"),
           replace(kText, "status=200", "status=404"), replace(kText, "/manifests/v1", "/blobs/sha256:0123"),
           replace(kApache, "\"GET ", "\"DELETE "), replace(kApache, "\" 200 ", "\" 401 "),
           std::string(R"(time="2026-12-03T23:32:41Z" level=info msg="listening on [::]:5000" go.version=go1.19.8)"),
           std::string(R"({"level":"info","msg":"redis not configured","time":"2026-12-03T23:32:41Z"})")}) {
    Parsed p = parse(line);
    EXPECT_EQ(p.kind, LogLine::Other) << line;
    EXPECT_NE(p.time_ns, 0) << line;
  }
}

TEST(AccessLog, WrappedByJournalctlAndContainerRuntimes) {
  nlohmann::json docker = {{"log", kText + "\n"}, {"stream", "stderr"}, {"time", "2026-12-03T23:32:44.1Z"}};
  nlohmann::json docker_apache = {{"log", kApache + "\n"}, {"stream", "stdout"}, {"time", "2026-12-03T23:32:44.1Z"}};
  nlohmann::json journal = {{"MESSAGE", kJson}, {"__REALTIME_TIMESTAMP", "1764804765000000"}, {"_SYSTEMD_UNIT", "docker-registry.service"}};
  nlohmann::json journal_bytes = {{"MESSAGE", nlohmann::json::array()}, {"__REALTIME_TIMESTAMP", "1764804765000000"}};
  for (unsigned char c : kApache) journal_bytes["MESSAGE"].push_back(c);
  const std::string cri = "2026-12-03T23:32:45.000000001Z stderr F " + kText;
  const std::string short_form = "Dec 03 23:32:42 regbox docker-registry[812]: " + kApache;
  for (const auto& [line, repo] : std::vector<std::pair<std::string, std::string>>{
           {docker.dump(), "team/app"}, {docker_apache.dump(), "library/alpine"}, {journal.dump(), "team/app/sub"},
           {journal_bytes.dump(), "library/alpine"}, {cri, "team/app"}, {short_form, "library/alpine"}}) {
    Parsed p = parse(line);
    ASSERT_EQ(p.kind, LogLine::Pull) << line;
    EXPECT_EQ(p.pull.repository, repo) << line;
    // The registry's own time, not the wrapper's.
    EXPECT_LT(p.pull.time_ns, at("2026-12-03T23:32:44Z")) << line;
  }
  // A wrapper around some other program's line is no garbage.
  EXPECT_EQ(parse(nlohmann::json{{"log", "hello\n"}, {"time", "2026-12-03T23:32:44Z"}}.dump()).kind, LogLine::Other);
}

TEST(AccessLog, GarbageIsCountedNotFatal) {
  storage::AccessLog log;
  log.add_line(kText, "f:1");
  log.add_line(std::string("\x01\x02\xff\xfe binary", 12), "f:2");
  log.add_line("{not json", "f:3");
  log.add_line("just words here", "f:4");
  log.add_line(kApache, "f:5");
  EXPECT_EQ(log.lines, 5u);
  EXPECT_EQ(log.unreadable, 3u);
  EXPECT_EQ(log.first_unreadable, "f:2");
  EXPECT_EQ(log.pulls, 2u);
  EXPECT_EQ(log.first_ns, at("2026-12-03T22:32:42Z"));
  EXPECT_EQ(log.last_ns, at("2026-12-03T23:32:42.954958659Z"));
}

TEST(AccessLog, PlainAndGzipFilesAndTheLastPullWins) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("regsweep-accesslog-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string older = R"(127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /v2/team/app/manifests/v1 HTTP/1.1" 200 709 "" "x")";
  {
    std::ofstream plain(dir / "registry.log");
    plain << kText << "\n" << kApache << "\n";
    gzFile gz = ::gzopen((dir / "registry.log.1.gz").c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    ::gzputs(gz, (older + "\n").c_str());
    ::gzclose(gz);
  }
  storage::AccessLog log;
  log.read_file((dir / "registry.log.1.gz").string());
  log.read_file((dir / "registry.log").string());
  EXPECT_EQ(log.lines, 3u);
  EXPECT_EQ(log.unreadable, 0u);
  EXPECT_EQ((log.last_pull.at({"team/app", "v1"})), at("2026-12-03T23:32:42.954958659Z"));
  EXPECT_EQ((log.last_pull.at({"library/alpine", "3.19"})), at("2026-12-03T22:32:42Z"));
  EXPECT_EQ(log.first_ns, at("2026-12-01T10:00:00Z"));
  // A gzip file cut short is an error naming it; a missing file too.
  {
    std::ifstream in(dir / "registry.log.1.gz", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream cut(dir / "cut.gz", std::ios::binary);
    cut << bytes.substr(0, bytes.size() / 2);
  }
  storage::AccessLog broken;
  try {
    broken.read_file((dir / "cut.gz").string());
    ADD_FAILURE() << "a cut gzip file was read without an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.path()).find("cut.gz"), std::string::npos);
  }
  EXPECT_THROW(broken.read_file((dir / "absent.log").string()), Error);
  std::filesystem::remove_all(dir);
}

// Pulls to images: by digest that digest, by tag the digest it names now, an index with its
// children; what the storage does not have is left out.
TEST(AccessLog, PullsCountForTheImagesTheyReach) {
  auto d = [](char c) { return *Digest::from_hex(std::string(64, c)); };
  storage::Model model;
  storage::Repository app;
  app.name = "team/app";
  app.tags = {storage::TagLink{"multi", d('3'), 0, {}}, storage::TagLink{"v1", d('1'), 0, {}}};
  storage::ManifestRecord index;
  index.digest = d('3');
  index.parsed.children = {{d('4'), 0, "linux/amd64"}, {d('5'), 0, "linux/arm64"}};
  model.manifests = {index};
  model.repositories = {app};
  storage::AccessLog log;
  log.last_pull[{"team/app", "v1"}] = 100;
  log.last_pull[{"team/app", "sha256:" + std::string(64, '2')}] = 200;
  log.last_pull[{"team/app", "multi"}] = 300;
  log.last_pull[{"team/app", "sha256:" + std::string(64, '4')}] = 400;  // a child pulled on its own later
  log.last_pull[{"team/app", "gone"}] = 500;                            // a tag deleted since
  log.last_pull[{"other/repo", "v1"}] = 600;                            // not in this storage
  const auto pulls = storage::last_pulls(model, log);
  const std::map<std::pair<std::string, Digest>, std::int64_t> expected = {
      {{"team/app", d('1')}, 100}, {{"team/app", d('2')}, 200}, {{"team/app", d('3')}, 300},
      {{"team/app", d('4')}, 400}, {{"team/app", d('5')}, 300}};
  EXPECT_EQ(pulls, expected);
}

}  // namespace
}  // namespace regsweep::test
