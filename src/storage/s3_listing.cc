#include "s3_listing.h"

#include <algorithm>

namespace regsweep::storage::s3 {

namespace {

constexpr std::string_view kContentsOpen = "<Contents>", kContentsClose = "</Contents>";
constexpr std::string_view kPrefixesOpen = "<CommonPrefixes>", kPrefixesClose = "</CommonPrefixes>";

// The end of the last whole entry in `text` (just past its closing tag), or 0.
std::size_t end_of_last_entry(std::string_view text) {
  std::size_t end = 0;
  for (std::string_view close : {kContentsClose, kPrefixesClose}) {
    std::size_t at = text.rfind(close);
    if (at != std::string_view::npos) end = std::max(end, at + close.size());
  }
  return end;
}

}  // namespace

void ListingReader::feed(std::string_view bytes) {
  if (failed_) return;
  pending_ += bytes;
  const std::size_t end = end_of_last_entry(pending_);
  if (end == 0) return;
  const std::size_t begin = std::min(pending_.find(kContentsOpen), pending_.find(kPrefixesOpen));
  if (begin >= end) return;  // a closing tag without its opening one: left to the envelope
  envelope_.append(pending_, 0, begin);
  take_entries(begin, end);
  pending_.erase(0, end);
}

void ListingReader::take_entries(std::size_t begin, std::size_t end) {
  pugi::xml_document fragment;
  // Parsed where it is: the bytes are dropped right after.
  if (!fragment.load_buffer_inplace(pending_.data() + begin, end - begin, pugi::parse_default | pugi::parse_fragment)) {
    failed_ = true;
    return;
  }
  read_children(fragment);  // entries, and perhaps an envelope field between two of them
}

void ListingReader::read_children(pugi::xml_node parent) {
  for (pugi::xml_node node : parent.children()) {
    if (node.type() != pugi::node_element) continue;
    std::string_view name = node.name();
    if (name == "Contents" || name == "CommonPrefixes")
      visit_entry(node);
    else
      read_envelope_field(node);
  }
}

void ListingReader::visit_entry(pugi::xml_node entry) {
  const bool is_key = std::string_view(entry.name()) == "Contents";
  std::string_view id = entry.child_value(is_key ? "Key" : "Prefix");
  if (skipping_ && id <= std::string_view(is_key ? skip_key_ : skip_prefix_)) return;
  (is_key ? last_key_ : last_prefix_).assign(id);
  visit_(entry);
}

void ListingReader::read_envelope_field(pugi::xml_node field) {
  std::string_view name = field.name();
  if (name == "IsTruncated") truncated_ = std::string_view(field.child_value()) == "true";
  if (name == "NextContinuationToken") token_ = field.child_value();
}

void ListingReader::restart() {
  pending_.clear();
  envelope_.clear();
  failed_ = false;
  truncated_ = false;
  token_.clear();
  if (!last_key_.empty() || !last_prefix_.empty()) {
    skipping_ = true;
    skip_key_ = last_key_;
    skip_prefix_ = last_prefix_;
  }
}

bool ListingReader::finish() {
  if (failed_) return false;
  envelope_ += pending_;
  pending_.clear();
  pugi::xml_document doc;
  if (!doc.load_buffer_inplace(envelope_.data(), envelope_.size())) return false;
  pugi::xml_node result = doc.child("ListBucketResult");
  if (!result) return false;
  read_children(result);
  envelope_.clear();
  envelope_.shrink_to_fit();
  return true;
}

}  // namespace regsweep::storage::s3
