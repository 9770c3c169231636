// The bench client's NKey code agrees with the official @nats-io/nkeys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, fromPublic } from '@nats-io/nkeys';
import { credsAuth, decodeSeed, encodeSeed, NKEY_PREFIX, publicKeyOf, signNonce } from '../../src/bench/creds.js';

test('public key and signature of a seed match @nats-io/nkeys', () => {
  for (let i = 0; i < 5; i++) {
    const kp = createUser();
    const seed = new TextDecoder().decode(kp.getSeed());
    assert.equal(publicKeyOf(seed), kp.getPublicKey());
    const nonce = `nonce-${i}-abc`;
    const sig = Buffer.from(signNonce(seed, nonce), 'base64url');
    assert.ok(fromPublic(kp.getPublicKey()).verify(new TextEncoder().encode(nonce), sig));
    const { typePrefix, raw } = decodeSeed(seed);
    assert.equal(typePrefix, NKEY_PREFIX.user);
    assert.equal(encodeSeed(typePrefix, raw), seed);
  }
});

test('creds file: JWT + seed gives jwt and sig; a bare seed gives nkey and sig; junk is refused', () => {
  const kp = createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  const creds = `-----BEGIN NATS USER JWT-----\neyJhbGciOi.payload.sig\n------END NATS USER JWT------\n\n` +
    `************************* IMPORTANT *************************\n\n` +
    `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
  const a = credsAuth(creds, 'n1', 'x.creds');
  assert.equal(a.jwt, 'eyJhbGciOi.payload.sig');
  assert.equal(a.nkey, undefined);
  const b = credsAuth(`${seed}\n`, 'n1', 'seed.txt');
  assert.equal(b.nkey, kp.getPublicKey());
  assert.throws(() => credsAuth('hello', 'n1', 'bad.creds'), /bad\.creds: no NKey seed found/);
  assert.throws(() => credsAuth(seed, '', 'seed.txt'), /sent no nonce/);
  const broken = seed.slice(0, -2) + (seed.endsWith('AA') ? 'BB' : 'AA');
  assert.throws(() => credsAuth(broken, 'n', 'seed.txt'), /seed\.txt: .*(checksum|length)/);
});
