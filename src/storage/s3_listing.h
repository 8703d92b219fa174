#pragma once
// A ListObjectsV2 answer read as it arrives. Each whole <Contents> and <CommonPrefixes>
// element is parsed (by pugixml, as a fragment) and handed on as soon as its closing tag is
// in, so that a page of 1,000 keys is never held whole, neither as text nor as a tree: with
// 32 listings in flight that was most of the walk's memory on S3. What is left over (the
// envelope: Name, IsTruncated, NextContinuationToken...) is parsed at the end as one document.
//
// The split is safe because those elements never nest and XML text cannot hold a '<': a
// "<Contents>" in the stream is always a tag. Whatever is not split (an unexpected form, a
// namespace prefix) stays in the envelope and is read from there, as a whole page was before.
#include <pugixml.hpp>

#include <string>
#include <string_view>

#include "regsweep/util/function_ref.h"

namespace regsweep::storage::s3 {

class ListingReader {
 public:
  // Called with each <Contents> or <CommonPrefixes> element, in the order they came.
  using EntryVisitor = util::FunctionRef<void(pugi::xml_node)>;

  explicit ListingReader(EntryVisitor visit) : visit_(visit) {}

  // The next bytes of the answer's body.
  void feed(std::string_view bytes);
  // The same page is asked for again (a retry after a reset): what came of the last attempt is
  // dropped, and entries already handed on are not handed on again (a listing comes in key
  // order, so those are the ones up to the last key and prefix handed on).
  void restart();
  // The end of the body. False when it was not a listing (no ListBucketResult envelope, or
  // XML that does not parse).
  bool finish();

  bool truncated() const { return truncated_; }
  const std::string& continuation_token() const { return token_; }

 private:
  void take_entries(std::size_t begin, std::size_t end);
  void read_children(pugi::xml_node parent);  // entries are visited, envelope fields read
  void visit_entry(pugi::xml_node entry);
  void read_envelope_field(pugi::xml_node field);

  EntryVisitor visit_;
  std::string pending_;   // bytes after the last whole entry
  std::string envelope_;  // everything that was not an entry
  bool failed_ = false;
  bool truncated_ = false;
  std::string token_;
  // Entries handed on in this page, and after a restart the last of each kind to skip through.
  std::string last_key_, last_prefix_;
  std::string skip_key_, skip_prefix_;
  bool skipping_ = false;
};

}  // namespace regsweep::storage::s3
