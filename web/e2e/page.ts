/** Driving the playground page in the end-to-end tests. */
import type { Page } from "playwright-core";

/**
 * The page's training recipe as CLI flags (not the CLI's defaults): constant lr, reparametrised
 * gradient, ELU, one layer group, no annealing. For CLI runs that must match a page run.
 */
export const PAGE_RECIPE_FLAGS = [
  "--gradient",
  "reparam",
  "--lr-decay",
  "constant",
  "--warmup",
  "0",
  "--activation",
  "elu",
  "--nrepeat",
  "1",
  "--anneal",
  "0",
];

/** Set L, epochs, backend and T in the page's controls, start training and wait until it is done. */
export async function trainOnPage(
  page: Page,
  o: { L: number; epochs: number; backend: string; T: number; timeoutMs: number },
): Promise<void> {
  await page.selectOption("#L", String(o.L));
  await page.fill("#epochs", String(o.epochs));
  await page.selectOption("#backend", o.backend);
  await page.fill("#T", String(o.T)); // range input: fill sets the value
  await page.dispatchEvent("#T", "input");
  await page.click("#start");
  await page.waitForFunction(
    (n) => {
      const p = (window as unknown as { __playground: { state: string; epoch: number } }).__playground;
      return p.state === "done" && p.epoch === n;
    },
    o.epochs,
    { timeout: o.timeoutMs },
  );
}
