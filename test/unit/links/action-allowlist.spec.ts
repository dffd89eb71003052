import { isAllowedAction, parseAllowList } from "../../../lib/links/action-allowlist";

describe("action allow-list", () => {
	it("keeps full action names, trimmed and de-duplicated", () => {
		expect(
			parseAllowList([
				" newsletter.subscribe",
				"v2.users.activate",
				"",
				"newsletter.subscribe"
			])
		).toEqual(["newsletter.subscribe", "v2.users.activate"]);
	});

	it.each(["links.create", "links.redeem", "$node.services", "$node.actions"])(
		"refuses %s whatever the configuration says",
		name => {
			expect(() => parseAllowList([name], "LINKS_ALLOWED_ACTIONS")).toThrow(
				/LINKS_ALLOWED_ACTIONS: links may not call/
			);
		}
	);

	it.each(["newsletter.*", "*", "newsletter", "news letter.subscribe", "a..b", ".a"])(
		"refuses %j: not a full action name",
		name => {
			expect(() => parseAllowList([name])).toThrow(/not a full action name/);
		}
	);

	it("matches exact names only", () => {
		const list = parseAllowList(["newsletter.subscribe"]);
		expect(isAllowedAction(list, "newsletter.subscribe")).toBe(true);
		expect(isAllowedAction(list, "newsletter.unsubscribe")).toBe(false);
		expect(isAllowedAction(list, "newsletter.subscribe ")).toBe(false);
		expect(isAllowedAction([], "newsletter.subscribe")).toBe(false);
	});
});
