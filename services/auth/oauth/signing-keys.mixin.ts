/**
 * The access tokens' signing keys in `auth` (lib/auth/key-ring, lib/auth/signing-keys): generated
 * at the first start, stored sealed beside the users and shared by every auth node; the JWKS
 * (`auth.jwks`, served at GET /.well-known/jwks.json) and rotation (`auth.rotateSigningKey`, also a
 * REPL command). With JWT_ALGORITHM=HS256 there are no keys and the JWKS is empty.
 */
import { KeyRing } from "../../../lib/auth/key-ring";
import { MAX_CLOCK_SKEW } from "../../../lib/auth/jwt";
import type { SigningKeyStore } from "../../../lib/auth/store/signing-key-store";
import { signingKeyStores } from "../../../lib/auth/store/auth-store-adapters";
import type { AsymmetricAlgorithm } from "../../../lib/auth/signing-keys";
import { authMixin } from "../auth-internals";
import type { AuthThis } from "../auth-internals";

const SigningKeysMixin = authMixin({
	actions: {
		/** The public keys that verify access tokens (RFC 7517). Public: siblings fetch it too. */
		jwks: {
			visibility: "public",
			params: { $$strict: true },
			handler(this: AuthThis): { keys: unknown[] } {
				return this.keyRing ? this.keyRing.jwks() : { keys: [] };
			}
		},

		/**
		 * Adds a key: in the JWKS at once, signing after `publishDelay` seconds (default the
		 * setting, the JWKS caches' lifetime); the current key then retires and verifies on until
		 * the last token it signed has expired. For operators (REPL, trusted services).
		 */
		rotateSigningKey: {
			visibility: "public",
			params: {
				$$strict: true,
				publishDelay: { type: "number", integer: true, min: 0, max: 86400, optional: true }
			},
			retryPolicy: { enabled: false },
			async handler(ctx: { params: { publishDelay?: number } }) {
				if (!this.keyRing) {
					throw new Error("JWT_ALGORITHM is HS256: there are no signing keys to rotate");
				}
				const delay = ctx.params.publishDelay ?? this.settings.signingKeys.publishDelay;
				const added = await this.keyRing.add(Date.now() + delay * 1000);
				this.logger.info(
					`Signing key ${added._id} added; it signs from ${new Date(added.activatesAt).toISOString()}.`
				);
				return {
					kid: added._id,
					activatesAt: new Date(added.activatesAt).toISOString(),
					keys: this.keyRing.describe()
				};
			}
		},

		/** Each key's id, algorithm and state (current, next, retired), never a key itself. */
		signingKeys: {
			visibility: "public",
			params: { $$strict: true },
			async handler(this: AuthThis) {
				if (!this.keyRing) return [];
				await this.keyRing.reload();
				return this.keyRing.describe();
			}
		}
	},

	methods: {
		/** The key ring, for JWT_ALGORITHM EdDSA or ES256; its first key made if there is none. */
		async startKeyRing(this: AuthThis): Promise<void> {
			const algorithm = this.settings.accessToken.algorithm;
			if (algorithm === "HS256") return;
			const store = await this.openSigningKeyStore();
			await store.ensureIndexes();
			this.keyRing = new KeyRing({
				store,
				algorithm: algorithm as AsymmetricAlgorithm,
				seal: pem => this.signingKeyBox.seal(pem, "signing-key"),
				open: sealed => this.signingKeyBox.open(sealed, "signing-key"),
				graceMs: (this.settings.accessToken.ttl + MAX_CLOCK_SKEW) * 1000,
				reloadMs: this.settings.signingKeys.reloadInterval * 1000
			});
			await this.keyRing.start();
		},

		/** Beside the users, like the refresh families (see openFamilyStore). */
		openSigningKeyStore(this: AuthThis): Promise<SigningKeyStore> {
			return this.openSideStore(signingKeyStores);
		}
	}
});

export default SigningKeysMixin;
