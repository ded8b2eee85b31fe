#pragma once

// What an authorization request needs from the person before a code can be issued: OIDC Core
// §3.1.2.3 (authenticate the end-user), §3.1.2.4 (obtain consent) and the prompt, max_age and
// id_token_hint rules of §3.1.2.1. Pure: the caller supplies what it knows about the browser's
// session, the stored consent and the time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "oauth/authorize.hpp"

namespace latchkey::oauth {

// SessionFacts: the signed-in person of the browser, as far as the decision needs them.
struct SessionFacts {
  std::string user_id;
  int64_t auth_time = 0;  // when the person last entered a password
};

enum class NextStep {
  kIssueCode,        // everything needed is there
  kShowLogin,        // show the login page
  kShowConsent,      // show the consent page
  kLoginRequired,    // prompt=none but a login is needed: error login_required (§3.1.2.6)
  kConsentRequired,  // prompt=none but consent is needed: error consent_required (§3.1.2.6)
};

// InteractionState: what happened in this browser interaction so far.
struct InteractionState {
  std::optional<SessionFacts> session;  // nullopt: nobody is signed in (or the session ended)
  bool fresh_login = false;             // the person signed in as part of this request
  bool consented = false;               // the person approved this request just now
  // hint_subject: the "sub" of a valid id_token_hint; nullopt when the request had none.
  std::optional<std::string> hint_subject;
  int64_t now = 0;
};

// DecideNextStep applies, in order:
// 1. login is needed when there is no session; or, unless the person just signed in, when prompt
//    has "login" or "select_account" (Latchkey holds one session per browser, so choosing an
//    account means signing in), when max_age is set and now - auth_time > max_age, or when
//    id_token_hint names another subject than the session's;
// 2. consent is needed, unless just given, when prompt has "consent" or `consent_covers` (called
//    only when it matters) says the stored approval does not cover the requested scopes;
// 3. with prompt=none a needed page becomes kLoginRequired / kConsentRequired.
NextStep DecideNextStep(const AuthorizationRequest& request, const InteractionState& state,
                        const std::function<bool()>& consent_covers);

}  // namespace latchkey::oauth
