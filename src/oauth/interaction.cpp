#include "oauth/interaction.hpp"

#include <algorithm>

namespace latchkey::oauth {
namespace {

bool Has(const std::vector<std::string>& prompt, std::string_view value) {
  return std::find(prompt.begin(), prompt.end(), value) != prompt.end();
}

bool NeedsLogin(const AuthorizationRequest& request, const InteractionState& state) {
  if (!state.session) return true;
  if (state.fresh_login) return false;
  if (Has(request.prompt, "login") || Has(request.prompt, "select_account")) return true;
  // OIDC Core §3.1.2.1 max_age: "the End-User MUST be actively re-authenticated" when the
  // elapsed time is greater than max_age (max_age=0 therefore always asks).
  if (request.max_age && state.now - state.session->auth_time > *request.max_age) return true;
  if (state.hint_subject && *state.hint_subject != state.session->user_id) return true;
  return false;
}

}  // namespace

NextStep DecideNextStep(const AuthorizationRequest& request, const InteractionState& state,
                        const std::function<bool()>& consent_covers) {
  const bool prompt_none = Has(request.prompt, "none");
  if (NeedsLogin(request, state)) return prompt_none ? NextStep::kLoginRequired : NextStep::kShowLogin;
  if (state.consented) return NextStep::kIssueCode;
  const bool needs_consent = Has(request.prompt, "consent") || !consent_covers();
  if (needs_consent) return prompt_none ? NextStep::kConsentRequired : NextStep::kShowConsent;
  return NextStep::kIssueCode;
}

}  // namespace latchkey::oauth
