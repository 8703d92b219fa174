#pragma once
// What a registry asks for when it answers 401: the `WWW-Authenticate` challenges (RFC 7235),
// as distribution's token specification and docker_auth send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull"
//   Basic realm="basic-realm"
#include <string>
#include <string_view>
#include <vector>

namespace regsweep::online {

struct Challenge {
  std::string scheme;  // lower case: "bearer", "basic"
  std::string realm;
  std::string service;
  std::string scope;
  std::string error;   // "insufficient_scope", "invalid_token"... when the registry says
};

// Every challenge of one header value (several may share it, separated by commas); empty when
// the value is not a challenge. Parameter names are matched without regard to case; quoted
// values may hold commas and escaped quotes.
std::vector<Challenge> parse_www_authenticate(std::string_view value);

// The first challenge of `scheme` ("bearer", "basic") among several header values, if any.
const Challenge* find_challenge(const std::vector<Challenge>& challenges, std::string_view scheme);

}  // namespace regsweep::online
