#pragma once
// Aligned text columns for people; numbers right-aligned.
#include <ostream>
#include <string>
#include <vector>

#include "regsweep/util/style.h"

namespace regsweep::util {

class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
  void add_row(std::vector<std::string> cells);
  // The header line in bold when the style has colour.
  void print(std::ostream& out, const Style& style = Style{}) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// RFC 4180 field quoting for --csv.
std::string csv_field(const std::string& s);

}  // namespace regsweep::util
