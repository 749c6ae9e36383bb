/**
 * The public Qualys platforms and their API servers, as the connection form
 * offers them (test/console-assets.test.ts keeps this equal to qualys/platforms.ts).
 */
export const PLATFORMS = {
  US1: 'https://qualysapi.qualys.com',
  US2: 'https://qualysapi.qg2.apps.qualys.com',
  US3: 'https://qualysapi.qg3.apps.qualys.com',
  US4: 'https://qualysapi.qg4.apps.qualys.com',
  EU1: 'https://qualysapi.qualys.eu',
  EU2: 'https://qualysapi.qg2.apps.qualys.eu',
  EU3: 'https://qualysapi.qg3.apps.qualys.it',
  IN1: 'https://qualysapi.qg1.apps.qualys.in',
  CA1: 'https://qualysapi.qg1.apps.qualys.ca',
  AE1: 'https://qualysapi.qg1.apps.qualys.ae',
  UK1: 'https://qualysapi.qg1.apps.qualys.co.uk',
  AU1: 'https://qualysapi.qg1.apps.qualys.com.au',
  KSA1: 'https://qualysapi.qg1.apps.qualysksa.com',
  GOV1: 'https://qualysapi.gov1.qualys.us',
};

export const API_VERSIONS = ['5.0', '4.0', '3.0', '2.0'];
