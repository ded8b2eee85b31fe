#include "server/key_vault.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base64.hpp"
#include "crypto/aead.hpp"
#include "crypto/digest.hpp"

namespace latchkey::server {
namespace {

constexpr std::string_view kSealedPrefix = "lk-sealed-v1.";

// Text: a string or why there is none. Both halves are strings, so each return says which it is.
using Text = common::Result<std::string, std::string>;
Text Ok(std::string value) { return {boost::system::in_place_value, std::move(value)}; }
Text Err(std::string message) { return {boost::system::in_place_error, std::move(message)}; }
constexpr std::size_t kKekIdBytes = 6;  // 8 base64url characters

// Aad binds a sealed key to its row: the same bytes under another kid or alg do not open.
std::string Aad(std::string_view kid, std::string_view alg) {
  std::string aad = "latchkey signing key\n";
  aad.append(kid).append("\n").append(alg);
  return aad;
}

std::string KekIdOf(std::string_view key) {
  return common::Base64UrlEncode(
      crypto::Sha256("latchkey kek id\n" + std::string(key)).substr(0, kKekIdBytes));
}

// DecodeKek accepts base64 in either alphabet, with or without padding, and wants 32 bytes.
std::optional<std::string> DecodeKek(std::string_view text) {
  std::string url(text);
  while (!url.empty() && url.back() == '=') url.pop_back();
  for (char& c : url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  auto bytes = common::Base64UrlDecode(url);
  if (!bytes || bytes->size() != crypto::kAes256KeyBytes) return std::nullopt;
  return bytes;
}

std::vector<std::string> SplitKeks(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

struct Sealed {
  std::string kek_id;
  std::string bytes;
};

std::optional<Sealed> ParseSealed(std::string_view stored) {
  if (!stored.starts_with(kSealedPrefix)) return std::nullopt;
  stored.remove_prefix(kSealedPrefix.size());
  const auto dot = stored.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto bytes = common::Base64UrlDecode(stored.substr(dot + 1));
  if (!bytes) return std::nullopt;
  return Sealed{std::string(stored.substr(0, dot)), std::move(*bytes)};
}

Text ReadKekFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err("cannot read the key-encryption key file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return Ok(text.str());
}

// WriteNewKekFile creates `path` with mode 0600 and a new KEK; fails if it exists.
Text WriteNewKekFile(const std::string& path) {
  std::string text = KeyVault::GenerateKekText() + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Err("cannot create " + path + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return Err("cannot write " + path);
  return Ok(std::move(text));
}

}  // namespace

common::Result<KeyVault, std::string> KeyVault::FromText(std::string_view current,
                                                         std::string_view previous) {
  auto current_keys = SplitKeks(current);
  if (current_keys.size() != 1) return std::string("the key-encryption key must be exactly one key");
  auto previous_keys = SplitKeks(previous);
  KeyVault vault;
  current_keys.insert(current_keys.end(), previous_keys.begin(), previous_keys.end());
  for (std::size_t i = 0; i < current_keys.size(); ++i) {
    auto key = DecodeKek(current_keys[i]);
    if (!key) {
      return std::string(i == 0 ? "the key-encryption key" : "a previous key-encryption key") +
             " is not base64 of 32 bytes (make one with: openssl rand -base64 32)";
    }
    vault.keks_.push_back({KekIdOf(*key), std::move(*key)});
  }
  return vault;
}

common::Result<std::string, std::string> KeyVault::Seal(std::string_view pem, std::string_view kid,
                                                        std::string_view alg) const {
  auto sealed = crypto::SealAes256Gcm(keks_.front().key, pem, Aad(kid, alg));
  if (!sealed) return Err("cannot seal signing key " + std::string(kid));
  return Ok(std::string(kSealedPrefix) + keks_.front().id + "." + common::Base64UrlEncode(*sealed));
}

common::Result<std::string, std::string> KeyVault::Open(std::string_view stored, std::string_view kid,
                                                        std::string_view alg) const {
  if (stored.starts_with("-----BEGIN ")) return Ok(std::string(stored));
  auto sealed = ParseSealed(stored);
  if (!sealed) return Err("signing key " + std::string(kid) + " is neither sealed nor PEM");
  for (const auto& kek : keks_) {
    if (kek.id != sealed->kek_id) continue;
    auto pem = crypto::OpenAes256Gcm(kek.key, sealed->bytes, Aad(kid, alg));
    if (!pem)
      return Err("signing key " + std::string(kid) +
                 " does not open: it was changed or copied from another key");
    return Ok(std::move(*pem));
  }
  return Err("signing key " + std::string(kid) + " is sealed under key-encryption key " + sealed->kek_id +
             ", which is not configured (this node has " + keks_.front().id + ")");
}

bool KeyVault::SealedUnderCurrent(std::string_view stored) const { return KekId(stored) == CurrentId(); }

std::optional<std::string> KeyVault::KekId(std::string_view stored) {
  auto sealed = ParseSealed(stored);
  if (!sealed) return std::nullopt;
  return sealed->kek_id;
}

std::string KeyVault::GenerateKekText() {
  return common::Base64Encode(crypto::RandomBytes(crypto::kAes256KeyBytes));
}

std::string KekFileInDataDir(const Config& config) { return config.data_dir + "/kek"; }

common::Result<LoadedVault, std::string> LoadKeyVault(const Config& config, const EnvLookup& env,
                                                      bool generate_in_data_dir) {
  std::string current, source;
  bool generated = false;
  if (auto value = env("LATCHKEY_KEK"); value && !value->empty()) {
    current = *value;
    source = "LATCHKEY_KEK";
  } else if (!config.key_encryption_key_file.empty()) {
    auto text = ReadKekFile(config.key_encryption_key_file);
    if (!text) return text.error();
    current = std::move(*text);
    source = config.key_encryption_key_file;
  } else {
    const std::string path = KekFileInDataDir(config);
    if (::access(path.c_str(), F_OK) == 0) {
      auto text = ReadKekFile(path);
      if (!text) return text.error();
      current = std::move(*text);
    } else if (generate_in_data_dir) {
      auto text = WriteNewKekFile(path);
      if (!text) return text.error();
      current = std::move(*text);
      generated = true;
    } else {
      return std::string(
          "no key-encryption key for the signing keys: set LATCHKEY_KEK or keys.encryption_key_file "
          "(make one with: openssl rand -base64 32)");
    }
    source = path;
  }
  std::string previous;
  if (auto value = env("LATCHKEY_KEK_PREVIOUS"); value && !value->empty()) {
    previous = *value;
  } else if (!config.previous_key_encryption_key_file.empty()) {
    auto text = ReadKekFile(config.previous_key_encryption_key_file);
    if (!text) return text.error();
    previous = std::move(*text);
  }
  auto vault = KeyVault::FromText(current, previous);
  if (!vault) return vault.error() + " (from " + source + ")";
  return LoadedVault{std::move(*vault), source, generated};
}

}  // namespace latchkey::server
