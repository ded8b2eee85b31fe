#include "server/key_vault.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/base64.hpp"

namespace latchkey::server {
namespace {

const std::string kPem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n";

TEST(KeyVault, SealsAndOpensBoundToKidAndAlg) {
  auto vault = KeyVault::FromText(KeyVault::GenerateKekText());
  ASSERT_TRUE(vault) << vault.error();
  auto sealed = vault->Seal(kPem, "kid-1", "ES256");
  ASSERT_TRUE(sealed);
  EXPECT_TRUE(sealed->starts_with("lk-sealed-v1." + vault->CurrentId() + "."));
  EXPECT_EQ(sealed->find("PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(vault->SealedUnderCurrent(*sealed));
  auto opened = vault->Open(*sealed, "kid-1", "ES256");
  ASSERT_TRUE(opened) << opened.error();
  EXPECT_EQ(*opened, kPem);
  // Copied onto another row (kid or alg), it does not open.
  EXPECT_FALSE(vault->Open(*sealed, "kid-2", "ES256"));
  EXPECT_FALSE(vault->Open(*sealed, "kid-1", "RS256"));
}

TEST(KeyVault, ChangedCiphertextDoesNotOpen) {
  auto vault = KeyVault::FromText(KeyVault::GenerateKekText());
  ASSERT_TRUE(vault);
  auto sealed = vault->Seal(kPem, "k", "EdDSA");
  ASSERT_TRUE(sealed);
  std::string changed = *sealed;
  changed[changed.size() - 5] = changed[changed.size() - 5] == 'A' ? 'B' : 'A';
  auto opened = vault->Open(changed, "k", "EdDSA");
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().find("does not open"), std::string::npos);
  EXPECT_FALSE(vault->Open("lk-sealed-v1.nodot", "k", "EdDSA"));
  EXPECT_FALSE(vault->Open("garbage", "k", "EdDSA"));
}

TEST(KeyVault, BarePemOpensAsItIs) {
  auto vault = KeyVault::FromText(KeyVault::GenerateKekText());
  ASSERT_TRUE(vault);
  EXPECT_EQ(*vault->Open(kPem, "k", "ES256"), kPem);
  EXPECT_FALSE(vault->SealedUnderCurrent(kPem));
  EXPECT_FALSE(KeyVault::KekId(kPem).has_value());
}

// KEK rotation: the new KEK seals, the previous one still opens what it sealed; a vault without
// the previous KEK names the KEK a key needs.
TEST(KeyVault, PreviousKeksOpenOnly) {
  const std::string old_text = KeyVault::GenerateKekText();
  const std::string new_text = KeyVault::GenerateKekText();
  auto old_vault = KeyVault::FromText(old_text);
  auto rotated = KeyVault::FromText(new_text, old_text);
  auto new_only = KeyVault::FromText(new_text);
  ASSERT_TRUE(old_vault && rotated && new_only);
  auto sealed_old = old_vault->Seal(kPem, "k", "RS256");
  ASSERT_TRUE(sealed_old);
  EXPECT_EQ(*rotated->Open(*sealed_old, "k", "RS256"), kPem);
  EXPECT_FALSE(rotated->SealedUnderCurrent(*sealed_old));
  auto missing = new_only->Open(*sealed_old, "k", "RS256");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find(old_vault->CurrentId()), std::string::npos);
  auto sealed_new = rotated->Seal(kPem, "k", "RS256");
  ASSERT_TRUE(sealed_new);
  EXPECT_EQ(KeyVault::KekId(*sealed_new), new_only->CurrentId());
  EXPECT_FALSE(old_vault->Open(*sealed_new, "k", "RS256"));
}

TEST(KeyVault, KekTextFormats) {
  const std::string raw(32, '\x7f');
  // Standard and URL-safe alphabets, with or without padding, surrounded by whitespace.
  const std::string standard = common::Base64Encode(raw);
  const std::string url = common::Base64UrlEncode(raw);
  auto a = KeyVault::FromText(" " + standard + "\n");
  auto b = KeyVault::FromText(url);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->CurrentId(), b->CurrentId());
  // Not 32 bytes, not base64, several, none: refused, and the error never echoes the text.
  for (const std::string& bad : {common::Base64Encode(std::string(16, 'k')), std::string("not*base64"),
                                 standard + " " + standard, std::string(""), std::string(" \n")}) {
    auto r = KeyVault::FromText(bad);
    ASSERT_FALSE(r) << bad;
    if (!bad.empty()) {
      EXPECT_EQ(r.error().find(bad), std::string::npos);
    }
  }
  EXPECT_FALSE(KeyVault::FromText(standard, "short"));
  EXPECT_TRUE(KeyVault::FromText(standard, url + "," + standard));
}

class LoadKeyVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/latchkey-kek-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.data_dir = dir_;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  EnvLookup Env() {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string dir_;
  Config config_;
  std::map<std::string, std::string> env_;
};

TEST_F(LoadKeyVaultTest, NoneConfiguredIsAnErrorOutsideDevMode) {
  auto r = LoadKeyVault(config_, Env(), false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("LATCHKEY_KEK"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/kek"));
}

TEST_F(LoadKeyVaultTest, DevModeGeneratesOnceWithMode0600) {
  auto first = LoadKeyVault(config_, Env(), true);
  ASSERT_TRUE(first) << first.error();
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->source, dir_ + "/kek");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/kek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = LoadKeyVault(config_, Env(), true);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->vault.CurrentId(), first->vault.CurrentId());
  // Admin commands (no generation) use the file dev mode made.
  auto admin = LoadKeyVault(config_, Env(), false);
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->vault.CurrentId(), first->vault.CurrentId());
}

TEST_F(LoadKeyVaultTest, EnvironmentThenFileThenDataDir) {
  const std::string env_kek = KeyVault::GenerateKekText();
  const std::string file_kek = KeyVault::GenerateKekText();
  const std::string previous = KeyVault::GenerateKekText();
  std::ofstream(dir_ + "/file-kek") << file_kek << "\n";
  std::ofstream(dir_ + "/previous") << previous << "\n";
  config_.key_encryption_key_file = dir_ + "/file-kek";
  config_.previous_key_encryption_key_file = dir_ + "/previous";
  auto from_file = LoadKeyVault(config_, Env(), true);
  ASSERT_TRUE(from_file) << from_file.error();
  EXPECT_EQ(from_file->source, dir_ + "/file-kek");
  EXPECT_EQ(from_file->vault.CurrentId(), KeyVault::FromText(file_kek)->CurrentId());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/kek"));
  // The previous KEK opens.
  auto sealed = KeyVault::FromText(previous)->Seal(kPem, "k", "ES256");
  EXPECT_TRUE(from_file->vault.Open(*sealed, "k", "ES256"));
  env_["LATCHKEY_KEK"] = env_kek;
  auto from_env = LoadKeyVault(config_, Env(), true);
  ASSERT_TRUE(from_env);
  EXPECT_EQ(from_env->source, "LATCHKEY_KEK");
  EXPECT_EQ(from_env->vault.CurrentId(), KeyVault::FromText(env_kek)->CurrentId());
  config_.key_encryption_key_file = dir_ + "/missing";
  env_.clear();
  EXPECT_FALSE(LoadKeyVault(config_, Env(), true));
}

}  // namespace
}  // namespace latchkey::server
