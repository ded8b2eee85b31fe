#include "oauth/interaction.hpp"

#include <gtest/gtest.h>

namespace latchkey::oauth {
namespace {

AuthorizationRequest Request(std::vector<std::string> prompt = {},
                             std::optional<int64_t> max_age = std::nullopt) {
  AuthorizationRequest r;
  r.client_id = "web";
  r.scope = {"openid", "profile"};
  r.prompt = std::move(prompt);
  r.max_age = max_age;
  return r;
}

InteractionState Signed(int64_t auth_time = 1000, int64_t now = 1100) {
  InteractionState s;
  s.session = SessionFacts{"alice", auth_time};
  s.now = now;
  return s;
}

// OIDC Core §3.1.2.1 (prompt, max_age, id_token_hint), §3.1.2.3, §3.1.2.4 and §3.1.2.6.
TEST(DecideNextStep, OidcCoreSection3_1_2_1Table) {
  InteractionState nobody;
  nobody.now = 1100;
  InteractionState fresh = Signed();
  fresh.fresh_login = true;
  InteractionState other_hint = Signed();
  other_hint.hint_subject = "bob";
  InteractionState same_hint = Signed();
  same_hint.hint_subject = "alice";
  InteractionState consented = Signed();
  consented.consented = true;
  struct Case {
    const char* name;
    AuthorizationRequest request;
    InteractionState state;
    bool consent_covers;
    NextStep want;
  };
  const Case cases[] = {
      {"no session", Request(), nobody, true, NextStep::kShowLogin},
      {"no session, prompt=none", Request({"none"}), nobody, true, NextStep::kLoginRequired},
      {"session and consent", Request(), Signed(), true, NextStep::kIssueCode},
      {"session, no consent", Request(), Signed(), false, NextStep::kShowConsent},
      {"session, no consent, prompt=none", Request({"none"}), Signed(), false, NextStep::kConsentRequired},
      {"session and consent, prompt=none", Request({"none"}), Signed(), true, NextStep::kIssueCode},
      {"prompt=login with a session", Request({"login"}), Signed(), true, NextStep::kShowLogin},
      {"prompt=login after signing in", Request({"login"}), fresh, true, NextStep::kIssueCode},
      {"prompt=select_account", Request({"select_account"}), Signed(), true, NextStep::kShowLogin},
      {"prompt=consent with stored consent", Request({"consent"}), Signed(), true, NextStep::kShowConsent},
      {"prompt=consent just given", Request({"consent"}), consented, true, NextStep::kIssueCode},
      {"prompt=login consent", Request({"login", "consent"}), fresh, true, NextStep::kShowConsent},
      {"max_age not exceeded (100 s of 100)", Request({}, 100), Signed(1000, 1100), true,
       NextStep::kIssueCode},
      {"max_age exceeded (101 s of 100)", Request({}, 100), Signed(1000, 1101), true, NextStep::kShowLogin},
      {"max_age exceeded, prompt=none", Request({"none"}, 100), Signed(1000, 1101), true,
       NextStep::kLoginRequired},
      {"max_age=0 always asks", Request({}, 0), Signed(1000, 1001), true, NextStep::kShowLogin},
      {"max_age=0 right after signing in", Request({}, 0), fresh, true, NextStep::kIssueCode},
      {"id_token_hint of another user", Request(), other_hint, true, NextStep::kShowLogin},
      {"id_token_hint of another user, prompt=none", Request({"none"}), other_hint, true,
       NextStep::kLoginRequired},
      {"id_token_hint of the session's user", Request(), same_hint, true, NextStep::kIssueCode},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DecideNextStep(c.request, c.state, [&] { return c.consent_covers; }), c.want) << c.name;
  }
}

TEST(DecideNextStep, ConsentIsLookedUpOnlyWhenItMatters) {
  int calls = 0;
  auto covers = [&] {
    ++calls;
    return true;
  };
  InteractionState nobody;
  DecideNextStep(Request(), nobody, covers);
  InteractionState consented = Signed();
  consented.consented = true;
  DecideNextStep(Request(), consented, covers);
  EXPECT_EQ(calls, 0);
  DecideNextStep(Request(), Signed(), covers);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace latchkey::oauth
