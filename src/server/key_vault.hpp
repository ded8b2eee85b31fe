#pragma once

// KeyVault: the key-encryption keys (KEKs) that seal private signing keys at rest with
// AES-256-GCM. The first KEK seals; every KEK opens, so the KEK can be rotated without downtime:
// give every node the new KEK with the old one as previous, then `latchkey keys rewrap`.
//
// A sealed key is stored as text: "lk-sealed-v1.<kek id>.<base64url(nonce || ciphertext || tag)>".
// The KEK id is a short digest of the KEK, so the vault knows which KEK opens it (and an operator
// can tell which KEK a database needs) without revealing anything about the KEK. The kid and alg
// of the key are authenticated data: a sealed key copied onto another row does not open.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "server/config.hpp"

namespace latchkey::server {

class KeyVault {
 public:
  // FromText reads KEKs written as base64 (standard or URL-safe alphabet, padding optional) of 32
  // bytes, separated by whitespace or commas: the current KEK in `current`, previous ones in
  // `previous` (may be empty). Errors name the problem, never the key.
  static common::Result<KeyVault, std::string> FromText(std::string_view current,
                                                        std::string_view previous = {});

  // Seal returns `pem` sealed under the current KEK for the key `kid` of `alg`.
  common::Result<std::string, std::string> Seal(std::string_view pem, std::string_view kid,
                                                std::string_view alg) const;
  // Open returns the PEM of a sealed key. A bare PEM (a database written before keys were sealed)
  // is returned as it is. Errors say which KEK the key needs when the vault does not hold it.
  common::Result<std::string, std::string> Open(std::string_view stored, std::string_view kid,
                                                std::string_view alg) const;
  // SealedUnderCurrent: whether `stored` is sealed under the current KEK (nothing to re-wrap).
  bool SealedUnderCurrent(std::string_view stored) const;

  // CurrentId: the id of the KEK that seals.
  const std::string& CurrentId() const { return keks_.front().id; }

  // KekId: the id of a stored sealed key's KEK; nullopt for a bare PEM or malformed text.
  static std::optional<std::string> KekId(std::string_view stored);

  // GenerateKekText returns a new random KEK as base64 text (OpenSSL's CSPRNG).
  static std::string GenerateKekText();

 private:
  struct Kek {
    std::string id;
    std::string key;  // 32 bytes
  };
  std::vector<Kek> keks_;  // the first seals
};

// LoadedVault: a vault and where its current KEK came from (for the start-up log line).
struct LoadedVault {
  KeyVault vault;
  std::string source;      // "LATCHKEY_KEK", the file's path, ...
  bool generated = false;  // dev mode created DATA_DIR/kek just now
};

// KekFileInDataDir: DATA_DIR/kek, the file dev mode keeps its generated KEK in.
std::string KekFileInDataDir(const Config& config);

// LoadKeyVault finds the KEKs: the LATCHKEY_KEK environment variable, else the file
// `keys.encryption_key_file`, else DATA_DIR/kek when it exists. Previous KEKs come from
// LATCHKEY_KEK_PREVIOUS or the file `keys.previous_encryption_key_file`. With
// `generate_in_data_dir` (dev mode) and none found, a new KEK is written to DATA_DIR/kek (mode
// 0600). Without one, the error says how to provide it.
common::Result<LoadedVault, std::string> LoadKeyVault(const Config& config, const EnvLookup& env,
                                                      bool generate_in_data_dir);

}  // namespace latchkey::server
