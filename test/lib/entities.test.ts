import { assertEquals, test } from './spec.ts';
import { accessTokenEntity, accessTokenKey, matchesQuery, queryOf, type AccessTokenQuery } from '../../lib/cache/entities.ts';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = 'A1B2C3D4-0000-1111-2222-333344445555';
const QUERY: AccessTokenQuery = {
  homeAccountId: '',
  environment: 'login.microsoftonline.com',
  clientId: CLIENT,
  realm: TENANT,
  target: 'https://graph.microsoft.com/.default',
};
const REQUESTED_AT = 1_700_000_000_750; // ms; epoch seconds 1_700_000_000

test('accessTokenKey for an app token has MSAL\'s format, lower-cased', () => {
  assertEquals(
    accessTokenKey(QUERY),
    `-login.microsoftonline.com-accesstoken-${CLIENT.toLowerCase()}-${TENANT}-https://graph.microsoft.com/.default`,
  );
});

test('accessTokenKey lower-cases the target', () => {
  assertEquals(accessTokenKey({ ...QUERY, target: 'User.Read' }).endsWith('-user.read'), true);
});

test('accessTokenEntity stores timestamps as strings of epoch seconds from the request time', () => {
  const entity = accessTokenEntity(QUERY, { access_token: 'at', token_type: 'Bearer', expires_in: 3599 }, REQUESTED_AT);
  assertEquals(entity.cached_at, '1700000000');
  assertEquals(entity.expires_on, '1700003599');
  assertEquals(typeof entity.expires_on, 'string');
});

test('accessTokenEntity copies the query and the token into MSAL\'s fields', () => {
  const entity = accessTokenEntity(QUERY, { access_token: 'secret-at', token_type: 'Bearer', expires_in: 60 }, REQUESTED_AT);
  assertEquals(entity.home_account_id, '');
  assertEquals(entity.environment, 'login.microsoftonline.com');
  assertEquals(entity.credential_type, 'AccessToken');
  assertEquals(entity.client_id, CLIENT);
  assertEquals(entity.realm, TENANT);
  assertEquals(entity.target, 'https://graph.microsoft.com/.default');
  assertEquals(entity.secret, 'secret-at');
});

test('accessTokenEntity sets extended_expires_on from ext_expires_in', () => {
  const entity = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 3599, ext_expires_in: 7199 }, REQUESTED_AT);
  assertEquals(entity.extended_expires_on, '1700007199');
});

test('accessTokenEntity sets extended_expires_on to expires_on without ext_expires_in', () => {
  const entity = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 3599 }, REQUESTED_AT);
  assertEquals(entity.extended_expires_on, entity.expires_on);
});

test('accessTokenEntity sets refresh_on when refresh_in is shorter than expires_in', () => {
  const entity = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 3599, refresh_in: 1800 }, REQUESTED_AT);
  assertEquals(entity.refresh_on, '1700001800');
});

test('accessTokenEntity omits refresh_on when refresh_in is not shorter than expires_in', () => {
  const equal = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 3599, refresh_in: 3599 }, REQUESTED_AT);
  const longer = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 3599, refresh_in: 4000 }, REQUESTED_AT);
  const absent = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 3599 }, REQUESTED_AT);
  assertEquals('refresh_on' in equal, false);
  assertEquals('refresh_on' in longer, false);
  assertEquals('refresh_on' in absent, false);
});

test('accessTokenEntity normalises token_type to Bearer', () => {
  for (const tokenType of ['bearer', 'Bearer', 'BEARER', undefined]) {
    const entity = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 60, ...(tokenType ? { token_type: tokenType } : {}) }, REQUESTED_AT);
    assertEquals(entity.token_type, 'Bearer', String(tokenType));
  }
});

test('accessTokenEntity keeps another token_type as given', () => {
  assertEquals(accessTokenEntity(QUERY, { access_token: 'at', expires_in: 60, token_type: 'pop' }, REQUESTED_AT).token_type, 'pop');
});

test('queryOf and matchesQuery agree with the query an entity was built from', () => {
  const entity = accessTokenEntity(QUERY, { access_token: 'at', expires_in: 60 }, REQUESTED_AT);
  assertEquals(queryOf(entity), QUERY);
  assertEquals(matchesQuery(entity, { ...QUERY, clientId: CLIENT.toLowerCase() }), true);
  assertEquals(matchesQuery(entity, { ...QUERY, realm: 'other' }), false);
});
