#pragma once
// One way to fail: exceptions, caught once in main and mapped to exit codes.
// Problems found *in the store* are not errors: they are Findings (storage/finding.h).
#include <stdexcept>
#include <string>

namespace regsweep {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,     // the tool failed (bad root, I/O error)
  kExitUsage = 2,     // bad command line, or a question that needs a terminal
  kExitRefused = 3,   // refused for safety
  kExitProblems = 4,  // fsck: the storage has problems (the tool itself worked)
};

// A failure the user must see, naming the path it concerns.
class Error : public std::runtime_error {
 public:
  Error(const std::string& what, std::string path, std::string hint = {})
      : std::runtime_error(what), path_(std::move(path)), hint_(std::move(hint)) {}
  const std::string& path() const { return path_; }
  const std::string& hint() const { return hint_; }
  virtual int exit_code() const { return kExitError; }

 private:
  std::string path_;
  std::string hint_;
};

class UsageError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitUsage; }
};

class SafetyRefusal : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitRefused; }
};

}  // namespace regsweep
