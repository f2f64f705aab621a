import { builder } from '../builder.js';
import type { SigningKeyRow } from '../../db/schema.js';
import { SigningAlgorithmEnum } from './enums.js';
import { ENDPOINT_REF } from './endpoint.js';

export const SigningKeyRef = builder.objectRef<SigningKeyRow>('SigningKey');
SigningKeyRef.implement({
  description:
    'A key that signs webhook requests: an endpoint\'s HMAC secret (never returned after creation) or one of the organization\'s Ed25519 key pairs.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the "kid" of Ed25519 keys in the organization\'s JWKS.' }),
    algorithm: t.expose('algorithm', { type: SigningAlgorithmEnum }),
    publicKey: t.exposeString('publicKey', { nullable: true, description: 'whpk_... for Ed25519 keys; null for HMAC keys.' }),
    endpointId: t.exposeID('endpointId', { nullable: true, description: 'The endpoint of an HMAC key; null for the organization\'s Ed25519 keys.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'End of the grace period after a rotation: the key signs alongside its successor until then.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    usable: t.boolean({
      description: 'Whether the key signs requests now (not revoked, not past its grace period).',
      resolve: (k) => k.revokedAt === null && (k.expiresAt === null || k.expiresAt.getTime() > Date.now()),
    }),
  }),
});

const RotateSigningKeyPayload = builder.objectRef<{ signingKey: SigningKeyRow; secret: string | null }>('RotateSigningKeyPayload').implement({
  fields: (t) => ({
    signingKey: t.field({ type: SigningKeyRef, resolve: (p) => p.signingKey }),
    secret: t.exposeString('secret', {
      nullable: true,
      description: 'The new HMAC secret (whsec_...), shown only in this answer. Null for Ed25519 (the public key is in the JWKS).',
    }),
  }),
});

builder.queryField('signingKeys', (t) =>
  t.field({
    type: [SigningKeyRef],
    authScopes: { can: 'read' },
    description:
      'Keys that concern the endpoint, newest first, including expired and revoked ones: its HMAC keys, and the organization\'s Ed25519 keys while it signs with Ed25519 (or is in the grace period of leaving it).',
    args: { endpointId: t.arg.id({ required: true, description: ENDPOINT_REF }) },
    resolve: (_root, args, ctx) => ctx.services.signingKeys.list(ctx.requireViewer(), String(args.endpointId)),
  }),
);

builder.mutationField('rotateSigningKey', (t) =>
  t.field({
    type: RotateSigningKeyPayload,
    authScopes: { $all: { can: 'manage', enterprise: true } },
    description: [
      'Rotates the key an endpoint signs with. During the grace period every request carries signatures from the old and the new key.',
      'HMAC_SHA256: a new secret for this endpoint (returned once); an Ed25519 endpoint switches to HMAC.',
      'ED25519 on an HMAC endpoint: the endpoint switches to the organization\'s Ed25519 key pair (created if needed).',
      'ED25519 on an endpoint that already signs with Ed25519: rotates the ORGANIZATION\'s key pair, which affects EVERY Ed25519 endpoint of the organization.',
    ].join('\n'),
    args: {
      endpointId: t.arg.id({ required: true, description: ENDPOINT_REF }),
      algorithm: t.arg({ type: SigningAlgorithmEnum, defaultValue: 'HMAC_SHA256' }),
      gracePeriodSeconds: t.arg.int({
        defaultValue: 86_400,
        description: 'How long the previous key keeps signing: 0 (stop at once) to 2,592,000 (30 days); default 86,400 (24 h).',
      }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.signingKeys.rotate(
        ctx.requireViewer(),
        String(args.endpointId),
        args.algorithm ?? 'HMAC_SHA256',
        args.gracePeriodSeconds ?? 86_400,
      ),
  }),
);

builder.mutationField('revokeSigningKey', (t) =>
  t.field({
    type: SigningKeyRef,
    authScopes: { $all: { can: 'manage', enterprise: true } },
    description: 'Stops a key at once. The key an endpoint currently signs with cannot be revoked: rotate first.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.signingKeys.revoke(ctx.requireViewer(), String(args.id)),
  }),
);
