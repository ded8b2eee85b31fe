#include "cli/keys_command.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "cli/output.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "server/key_vault.hpp"
#include "server/keys.hpp"

namespace latchkey::cli {
namespace {

// KeysPolicy: the rotation policy of the configuration and the clients in the store.
std::optional<server::RotationPolicy> KeysPolicy(Admin& admin) {
  auto clients = admin.store->ListClients();
  if (!clients) return std::nullopt;
  int64_t longest = 0;
  for (const auto& c : *clients) longest = std::max(longest, c.access_token_lifetime);
  return server::RotationPolicyFor(admin.config, longest);
}

std::optional<server::KeyVault> VaultOrPrint(const Admin& admin) {
  auto loaded = server::LoadKeyVault(admin.config, server::ProcessEnv, false);
  if (!loaded) {
    std::fprintf(stderr, "latchkey: %s\n", loaded.error().c_str());
    return std::nullopt;
  }
  return std::move(loaded->vault);
}

int DatabaseFailure() {
  std::fprintf(stderr, "latchkey: the database is unavailable\n");
  return 1;
}

// NeverSigned: a retired key that was retired while still next (its active_from was only a plan).
bool NeverSigned(const store::SigningKeyRecord& k) {
  return k.state == "retired" && (k.active_from == 0 || k.active_from > k.retired_at);
}

const store::SigningKeyRecord* FindKey(const std::vector<store::SigningKeyRecord>& keys,
                                       const std::string& kid) {
  for (const auto& k : keys) {
    if (k.kid == kid) return &k;
  }
  return nullptr;
}

}  // namespace

KeysCommand::KeysCommand(CLI::App& app) {
  keys_ = app.add_subcommand("keys", "Manage the signing keys and their encryption");
  keys_->require_subcommand(1);
  list_ = keys_->add_subcommand("list", "List the signing keys and their states");
  AddCommonFlags(list_, flags_);
  rotate_ = keys_->add_subcommand("rotate", "Publish a new key that signs after the publication lead");
  AddCommonFlags(rotate_, flags_);
  rotate_->add_option("--alg", alg_, "Only this algorithm (RS256, ES256 or EdDSA)");
  rotate_->add_flag("--now", now_, "Sign with the new key at once");
  retire_ = keys_->add_subcommand("retire", "Stop signing with a key");
  AddCommonFlags(retire_, flags_);
  retire_->add_option("kid", kid_, "kid from `keys list`")->required();
  retire_->add_flag("--unpublish", unpublish_, "Also remove it from the JWKS at once (a compromised key)");
  rewrap_ = keys_->add_subcommand("rewrap", "Re-seal every key under the current key-encryption key");
  AddCommonFlags(rewrap_, flags_);
}

std::optional<int> KeysCommand::Run() {
  if (list_->parsed()) return List();
  if (rotate_->parsed()) return Rotate();
  if (retire_->parsed()) return Retire();
  if (rewrap_->parsed()) return Rewrap();
  return std::nullopt;
}

int KeysCommand::List() {
  Admin admin;
  if (int rc = OpenAdmin(flags_, admin)) return rc;
  auto keys = admin.store->ListSigningKeys();
  auto policy = KeysPolicy(admin);
  if (!keys || !policy) return DatabaseFailure();
  boost::json::array all;
  for (const auto& k : *keys) {
    boost::json::object o{{"kid", k.kid},
                          {"alg", k.alg},
                          {"state", k.state},
                          {"created_at", k.created_at},
                          {"sealed_with", server::KeyVault::KekId(k.private_key).value_or("none")}};
    if (!NeverSigned(k)) o["active_from"] = k.active_from;
    if (k.state == "retired") {
      o["retired_at"] = k.retired_at;
      o["published_until"] = k.retired_at + policy->retired_retention;
    }
    all.push_back(std::move(o));
  }
  if (flags_.json) {
    std::cout << boost::json::serialize(boost::json::object{{"keys", all}}) << "\n";
    return 0;
  }
  std::printf("%-43s  %-5s  %-7s  %-20s  %-20s  %s\n", "KID", "ALG", "STATE", "SIGNS FROM", "RETIRED", "KEK");
  for (const auto& k : *keys) {
    const std::string retired = k.state == "retired"
                                    ? UtcTime(k.retired_at) + " (published until " +
                                          UtcTime(k.retired_at + policy->retired_retention) + ")"
                                    : "-";
    std::printf("%-43s  %-5s  %-7s  %-20s  %-20s  %s\n", k.kid.c_str(), k.alg.c_str(), k.state.c_str(),
                NeverSigned(k) ? "-" : UtcTime(k.active_from).c_str(), retired.c_str(),
                server::KeyVault::KekId(k.private_key).value_or("none").c_str());
  }
  if (keys->empty()) std::printf("(no keys yet: the server creates them when it starts)\n");
  return 0;
}

int KeysCommand::Rotate() {
  if (!alg_.empty() &&
      std::find(server::kKeyAlgs.begin(), server::kKeyAlgs.end(), alg_) == server::kKeyAlgs.end()) {
    std::fprintf(stderr, "latchkey: --alg must be RS256, ES256 or EdDSA\n");
    return 2;
  }
  Admin admin;
  if (int rc = OpenAdmin(flags_, admin)) return rc;
  auto vault = VaultOrPrint(admin);
  if (!vault) return 1;
  auto policy = KeysPolicy(admin);
  auto keys = admin.store->ListSigningKeys();
  if (!keys || !policy) return DatabaseFailure();
  const int64_t now = common::SystemClock().NowSeconds();
  boost::json::array changed;
  for (const auto& alg : server::kKeyAlgs) {
    if (!alg_.empty() && alg != alg_) continue;
    std::string next_kid;
    int64_t active_from = now + policy->publication_lead;
    for (const auto& k : *keys) {
      if (k.alg == alg && k.state == "next") {
        next_kid = k.kid;
        active_from = k.active_from;
      }
    }
    if (next_kid.empty()) {
      auto record = server::NewSigningKey(alg, "next", now, active_from, *vault, policy->rsa_bits);
      if (!record) {
        std::fprintf(stderr, "latchkey: %s\n", record.error().c_str());
        return 1;
      }
      if (auto added = admin.store->AddSigningKey(*record); !added) {
        if (added.error() != store::Error::kConflict) return DatabaseFailure();
        std::fprintf(stderr, "latchkey: another %s key was published meanwhile; run `keys list`\n",
                     alg.c_str());
        return 3;
      }
      next_kid = record->kid;
    }
    if (now_) {
      auto activated = admin.store->ActivateSigningKey(next_kid, now);
      if (!activated && activated.error() != store::Error::kConflict) return DatabaseFailure();
      active_from = now;
    }
    common::LogAudit("admin_keys_rotate",
                     {{"kid", next_kid}, {"alg", alg}, {"active_from", active_from}, {"by", "admin"}});
    changed.push_back(boost::json::object{{"kid", next_kid}, {"alg", alg}, {"active_from", active_from}});
    if (!flags_.json) {
      std::printf("%s key %s signs %s\n", alg.c_str(), next_kid.c_str(),
                  now_ ? "from now" : ("from " + UtcTime(active_from) + " (published now)").c_str());
    }
  }
  if (flags_.json) std::cout << boost::json::serialize(boost::json::object{{"rotated", changed}}) << "\n";
  return 0;
}

int KeysCommand::Retire() {
  Admin admin;
  if (int rc = OpenAdmin(flags_, admin)) return rc;
  auto keys = admin.store->ListSigningKeys();
  if (!keys) return DatabaseFailure();
  const store::SigningKeyRecord* key = FindKey(*keys, kid_);
  if (key == nullptr) {
    std::fprintf(stderr, "latchkey: no signing key '%s'\n", kid_.c_str());
    return 3;
  }
  const int64_t now = common::SystemClock().NowSeconds();
  const bool was_active = key->state == "active";
  const std::string alg = key->alg;
  if (key->state != "retired") {
    if (auto retired = admin.store->RetireSigningKey(kid_, now); !retired) {
      if (retired.error() != store::Error::kConflict && retired.error() != store::Error::kNotFound) {
        return DatabaseFailure();
      }
    }
  } else if (!unpublish_) {
    std::fprintf(stderr, "latchkey: signing key '%s' is retired already\n", kid_.c_str());
    return 3;
  }
  // A successor signs at once: the next key when there is one, else a new key.
  std::string successor;
  if (was_active) {
    auto vault = VaultOrPrint(admin);
    auto policy = KeysPolicy(admin);
    if (!vault) return 1;
    if (!policy) return DatabaseFailure();
    auto taken = server::MaintainSigningKeys(*admin.store, *vault, common::SystemClock(), *policy);
    if (!taken) {
      std::fprintf(stderr, "latchkey: %s\n", taken.error().c_str());
      return 1;
    }
    for (const auto& step : *taken) {
      if (step.alg == alg &&
          (step.step == server::KeyStep::kActivate || step.step == server::KeyStep::kAddActive)) {
        successor = step.kid;
      }
    }
  }
  if (unpublish_) {
    if (auto deleted = admin.store->DeleteSigningKey(kid_);
        !deleted && deleted.error() != store::Error::kNotFound) {
      return DatabaseFailure();
    }
  }
  common::LogAudit("admin_keys_retire",
                   {{"kid", kid_}, {"alg", alg}, {"unpublished", unpublish_}, {"by", "admin"}});
  if (flags_.json) {
    boost::json::object out{{"retired", kid_}, {"alg", alg}, {"unpublished", unpublish_}};
    if (!successor.empty()) out["successor"] = successor;
    std::cout << boost::json::serialize(out) << "\n";
  } else {
    std::printf("retired %s key %s%s\n", alg.c_str(), kid_.c_str(),
                unpublish_ ? " and removed it from the JWKS" : " (published until its tokens expire)");
    if (!successor.empty()) std::printf("%s key %s signs from now\n", alg.c_str(), successor.c_str());
  }
  return 0;
}

int KeysCommand::Rewrap() {
  Admin admin;
  if (int rc = OpenAdmin(flags_, admin)) return rc;
  auto vault = VaultOrPrint(admin);
  if (!vault) return 1;
  auto written = server::ResealSigningKeys(*admin.store, *vault, true);
  if (!written) {
    std::fprintf(stderr, "latchkey: %s\n", written.error().c_str());
    return 1;
  }
  common::LogAudit("admin_keys_rewrap",
                   {{"kek_id", vault->CurrentId()}, {"keys", *written}, {"by", "admin"}});
  if (flags_.json) {
    std::cout << boost::json::serialize(
                     boost::json::object{{"rewrapped", *written}, {"kek_id", vault->CurrentId()}})
              << "\n";
  } else {
    std::printf("re-sealed %d key(s) under key-encryption key %s\n", *written, vault->CurrentId().c_str());
  }
  return 0;
}

}  // namespace latchkey::cli
