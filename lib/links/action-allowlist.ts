/**
 * Which actions a one-time action link may call. A link's token is a bearer credential: whoever holds
 * it runs the action, with the parameters fixed at creation, under the `links` service's identity.
 * So the set is an explicit list of full action names (no wildcards): a link can never call an
 * arbitrary action, and widening the list is a deliberate configuration change.
 */

/** `service.action`, optionally versioned (`v2.service.action`); no wildcards. */
const ACTION_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/**
 * Actions no link may call whatever the configuration says: the links service itself (a link could
 * mint or redeem other links) and moleculer's internal `$node` service.
 */
const FORBIDDEN_PREFIXES = ["links.", "$"];

/** Checks and de-duplicates a configured allow-list; throws naming the offending entry. */
export function parseAllowList(entries: readonly string[], source = "allowedActions"): string[] {
	const out: string[] = [];
	for (const raw of entries) {
		const name = raw.trim();
		if (!name) continue;
		if (FORBIDDEN_PREFIXES.some(p => name.startsWith(p))) {
			throw new Error(`${source}: links may not call "${name}"`);
		}
		if (!ACTION_NAME.test(name)) {
			throw new Error(
				`${source}: "${name}" is not a full action name like "newsletter.subscribe" (no wildcards)`
			);
		}
		if (!out.includes(name)) out.push(name);
	}
	return out;
}

export function isAllowedAction(allowList: readonly string[], action: string): boolean {
	return allowList.includes(action);
}
