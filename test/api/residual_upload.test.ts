// The false-positive story over HTTP with a residual head (the shipped model's adaptation): a tenant uploads
// the requests the global head wrongly blocks, labelled benign, and they pass from its next request on,
// with their unseen twins on the same endpoints, while its other traffic and its attacks are decided as before
// (a correction applies to the endpoints it was shown: method and path shape). Poisoning (attacks
// labelled benign) and contradictory labels are refused, and the refusal says what to do.
import assert from "node:assert/strict";
import { CORRECTION_BOUNDED_NAMES, RESIDUAL_DEFAULT } from "../../src/heads/residual.ts";
import { ADMIN, labelled, testWorld } from "./_app.ts";
import { attackRecord, benignRecord, TEST_ADAPT } from "./_model.ts";

const RESIDUAL = { adapt: { ...TEST_ADAPT, residual: { ...RESIDUAL_DEFAULT } } };
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
/** The test shop's form posts and detail pages (kinds 2 and 3), which the test model's global head blocks. */
const flagged = (from: number, n: number) => range(4 * n, from).filter((i) => i % 4 >= 2).slice(0, n);
const plain = (from: number, n: number) => range(4 * n, from).filter((i) => i % 4 < 2).slice(0, n);

async function blockRate(w: ReturnType<typeof testWorld>, records: ReturnType<typeof benignRecord>[]) {
  let blocked = 0;
  for (const r of records) if ((await w.send("shop-a.test", r)).status === 403) blocked++;
  return blocked / records.length;
}

Deno.test("false positives: uploaded as benign, they and their twins pass; other traffic and attacks as before", async () => {
  const w = testWorld({ modelMeta: RESIDUAL });
  const fps = flagged(0, 12).map(benignRecord);
  // Unseen requests like them: form posts to the same endpoint (kind 2), and images of other names (kind 3),
  // which are other endpoints (a path's literal segments are its shape).
  const twins = flagged(400, 40).filter((i) => i % 4 === 2).map(benignRecord);
  const images = flagged(400, 40).filter((i) => i % 4 === 3).map(benignRecord);
  const others = plain(400, 40).map(benignRecord), attacks = range(60, 100).map(attackRecord);
  const onForm = attacks.filter((r) => r.url === "/cart");
  const before = {
    onForm: await blockRate(w, onForm),
    fps: await blockRate(w, fps),
    twins: await blockRate(w, twins),
    images: await blockRate(w, images),
    others: await blockRate(w, others),
    attacks: await blockRate(w, attacks),
  };
  assert.equal(before.fps, 1, "the global head blocks them");
  assert.equal(before.twins, 1);
  assert.equal(before.images, 1);

  const token = await w.mint("shop-a.test");
  const res = await w.upload("shop-a.test", labelled(fps, 0), token);
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  assert.equal(body.guard.passed, true);
  assert.equal(body.guard.conflicts, 0);
  assert.ok(Number.isFinite(body.fit.loss) && body.fit.loss >= 0, "the fit reports its final objective");
  assert.equal(body.fit.method, "residual");
  assert.equal(body.tauSource, "scale");
  assert.equal(body.tau, w.engine.meta.tau, "a benign-only upload keeps the worker's τ");
  const doc = (await w.store.read("shop-a.test")).active!;
  const ri = doc.head.ri as number[], rv = doc.head.rv as number[];
  // The upload's endpoints: the form post and six images; the answer says how many.
  assert.equal((doc.head.re as number[]).length, 7);
  assert.equal(body.fit.endpoints, 7);
  // On them, it applies as far as a request is made of the upload's features (the support gate).
  assert.deepEqual(body.fit.gate, RESIDUAL_DEFAULT.gate);
  // ... and not to a request with more of an evidence count than the upload has (its bounds, listed).
  assert.deepEqual(body.fit.bounds, [...CORRECTION_BOUNDED_NAMES]);
  // ... nor to one not of its shape: the form's three names (item, qty, action), and one entry for each of
  // the six images, which send none.
  assert.equal(body.fit.shape, 3 + 6);
  assert.equal((doc.head.rp as number[]).length, 3 * 9);
  assert.equal(typeof doc.head.rs, "string");
  assert.ok(ri.length > 0 && ri.length === rv.length, "the stored head has a residual");
  assert.ok(JSON.stringify(doc).length < 64 * 1024, "within the 64 KB budget");

  const after = {
    onForm: await blockRate(w, onForm),
    fps: await blockRate(w, fps),
    twins: await blockRate(w, twins),
    images: await blockRate(w, images),
    others: await blockRate(w, others),
    attacks: await blockRate(w, attacks),
  };
  assert.equal(after.fps, 0, JSON.stringify(after));
  assert.equal(after.twins, 0, "unseen requests of the same form pass too");
  assert.equal(after.images, 1, "other endpoints keep the global head's decision");
  assert.ok(Math.abs(after.others - before.others) <= 0.002, JSON.stringify({ before, after }));
  assert.ok(Math.abs(after.attacks - before.attacks) <= 0.002, JSON.stringify({ before, after }));
  // Among them the attacks posted to the corrected form itself.
  assert.ok(onForm.length >= 10);
  assert.equal(after.onForm, before.onForm, JSON.stringify({ before, after }));
  // Tampered copies of an uploaded post: a quantity with letters, a name the form never had, a name sent
  // twice, and the item and the quantity swapped, which is made of the upload's words and counts alone (the
  // support gate and the bounds let it through; its shape does not: a quantity was never letters). The
  // correction leaves them to the global head, which blocks them as it blocked the upload.
  const tampered = [
    "item=socks&qty=3x&action=update",
    "item=socks&qty=3&action=update&admin=1",
    "item=socks&qty=3&action=update&qty=1",
    "item=3&qty=socks&action=update",
  ].map((body) => ({ ...fps[0], body }));
  assert.equal(await blockRate(w, tampered), 1, "tampered copies keep the global head's decision");
});

Deno.test("poisoning: attacks labelled benign are refused (the canaries carry their words); the head stays", async () => {
  const w = testWorld({ modelMeta: RESIDUAL });
  const token = await w.mint("shop-a.test");
  const poison = labelled([...flagged(0, 10).map(benignRecord), ...range(20).map(attackRecord)], 0);
  const res = await w.upload("shop-a.test", poison, token);
  const body = await res.json();
  assert.equal(res.status, 422, JSON.stringify(body.guard));
  assert.equal(body.error, "guard_refused");
  assert.equal(body.guard.canaries.passed, false, JSON.stringify(body.guard));
  assert.ok(body.guard.canaries.drop > body.guard.margin);
  assert.match(body.reason, /check the records labelled 0 \(benign\) for attacks/);
  assert.equal((await w.store.read("shop-a.test")).active, null);
  assert.equal(await blockRate(w, range(20, 200).map(attackRecord)), 1, "attacks are still blocked");
});

Deno.test("contradictory labels: a request labelled both benign and attack is refused, named in the reason", async () => {
  const w = testWorld({ modelMeta: RESIDUAL });
  const token = await w.mint("shop-a.test");
  const records = [
    ...labelled(plain(0, 10).map(benignRecord), 0),
    ...labelled(range(5).map(attackRecord), 1),
  ];
  records.push({ ...records[0], label: 1 });
  const res = await w.upload("shop-a.test", records, token);
  const body = await res.json();
  assert.equal(res.status, 422, JSON.stringify(body.guard));
  assert.equal(body.guard.conflicts, 1);
  assert.match(body.reason, /1 request is labelled both benign and attack/);
  assert.match(body.reason, /keep one label for each of them/);
});

Deno.test("poisoning forced through by the operator is bounded to the poisoned endpoints", async () => {
  const w = testWorld({ modelMeta: RESIDUAL });
  // Attacks posted to the cart, labelled benign: a poisoned correction of one endpoint (POST /cart).
  const cart = range(60).filter((i) => i % 3 === 0).map(attackRecord);
  const search = range(60, 300).filter((i) => i % 3 !== 0).map(attackRecord);
  assert.equal(await blockRate(w, search), 1, "the global head blocks the search attacks");
  const refused = await w.upload("shop-a.test", labelled(cart.slice(0, 10), 0), await w.mint("shop-a.test"));
  assert.equal(refused.status, 422, "the guard refuses it");
  const forced = await w.upload("shop-a.test", labelled(cart.slice(0, 10), 0), ADMIN, "?force=1");
  assert.equal(forced.status, 201);
  const doc = (await w.store.read("shop-a.test")).active!;
  assert.equal((doc.head.re as number[] | undefined)?.length, 1, "one endpoint corrected");
  // Attacks on every other endpoint are decided by the global head, as before.
  assert.equal(await blockRate(w, search), 1, "search attacks still blocked");
  // On the poisoned endpoint, the uploaded requests pass: what forcing past the guard means.
  assert.equal(await blockRate(w, cart.slice(0, 10)), 0);
});
