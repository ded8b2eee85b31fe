#pragma once

// `latchkey keys`: the server's signing keys (server/keys.hpp) and their key-encryption key.
//
//   keys list              every key: kid, alg, state (next, active, retired), dates, and the id
//                          of the KEK it is sealed under
//   keys rotate            publish a next key for each algorithm (or --alg) that has none; it
//                          signs after keys.publication_lead. --now: it signs at once (relying
//                          parties holding a cached JWKS may refuse its tokens until they refetch)
//   keys retire KID        stop signing with KID (an active key's successor signs at once); it
//                          stays published until its tokens expire, or with --unpublish leaves the
//                          JWKS at once (a compromised key)
//   keys rewrap            re-seal every key under the current KEK (after rotating the KEK)
//
// Running servers pick the change up within a second (they poll the store's revision).

#include <optional>
#include <string>

#include <CLI/App.hpp>

#include "cli/admin.hpp"

namespace latchkey::cli {

class KeysCommand {
 public:
  // KeysCommand registers `keys` on `app`, binding its flags to this object, which must stay where
  // it is until Run.
  explicit KeysCommand(CLI::App& app);
  KeysCommand(const KeysCommand&) = delete;
  KeysCommand& operator=(const KeysCommand&) = delete;

  // Run executes the subcommand given and returns its exit code (0; 1 the database or the KEK
  // failed; 2 unusable flags; 3 no such key or not in a state for it); nullopt when `keys` was not
  // on the command line.
  std::optional<int> Run();

 private:
  int List();
  int Rotate();
  int Retire();
  int Rewrap();

  CommonFlags flags_;
  std::string alg_;
  std::string kid_;
  bool now_ = false;
  bool unpublish_ = false;
  CLI::App* keys_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* rotate_ = nullptr;
  CLI::App* retire_ = nullptr;
  CLI::App* rewrap_ = nullptr;
};

}  // namespace latchkey::cli
