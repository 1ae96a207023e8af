// A real OpenID Connect provider (the npm package oidc-provider) for the single sign-on tests.
//
// Started by tests/oidc_provider.py; everything comes from the environment:
//   PORT           port to listen on (127.0.0.1 only)
//   CLIENT_ID      the one client's id; CLIENT_SECRET its secret (client_secret_basic)
//   REDIRECT_URIS  the client's redirect URIs, comma-separated
//   ID_TOKEN_CLAIMS=1  put the profile claims (name, employee_code) in the ID token too;
//                  otherwise they come only from userinfo, as oidc-provider does by default
//   ACCOUNTS       optional JSON {"login": {"name": ..., "sub": ..., "employee_code": ...}}
//
// Sign-in uses oidc-provider's development interactions: a form that accepts any login name
// with any password. The login name is the account id, and the account's employee_code is
// that login unless ACCOUNTS says otherwise (null: the account has no employee code). The
// subject (`sub`) the client sees is pairwise, as many company providers give it:
// `sub-<login>`, or ACCOUNTS' "sub" — never the employee code itself.
// Consent is granted without a page, as a company's own identity provider does for its apps.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const env = process.env;
const port = Number(env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(env.ACCOUNTS || '{}');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };

function claimsOf(id) {
  const extra = accounts[id] || {};
  const claims = { sub: id, name: extra.name || `SSO ${id}` };
  const code = 'employee_code' in extra ? extra.employee_code : id;
  if (code !== null) claims.employee_code = code;
  return claims;
}

const configuration = {
  clients: [
    {
      client_id: env.CLIENT_ID,
      client_secret: env.CLIENT_SECRET,
      redirect_uris: (env.REDIRECT_URIS || '').split(',').filter(Boolean),
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      subject_type: 'pairwise',
    },
  ],
  subjectTypes: ['public', 'pairwise'],
  async pairwiseIdentifier(_ctx, accountId) {
    return (accounts[accountId] || {}).sub || `sub-${accountId}`;
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: ['arigato-test-provider-cookie-key'] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'employee_code'] },
  conformIdTokenClaims: env.ID_TOKEN_CLAIMS !== '1',
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return { accountId: id, claims: async () => claimsOf(id) };
  },
  async loadExistingGrant(ctx) {
    const { client, session, result } = ctx.oidc;
    const grantId = result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);
const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
