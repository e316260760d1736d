import { expect, test } from '@playwright/test';
import { ask, widgetFrame } from './helpers';

// The book site (allowed to embed BookChat) is another origin, as with a real Docusaurus book.
const HOST = process.env.BOOKCHAT_HOST_URL ?? 'http://127.0.0.1:3310';
const PAGE = `${HOST}/docs/ros2/ros2-architecture`;

test('a shared conversation: read-only for others, continued as their own copy, revoked by its owner', async ({ page, browser, baseURL }) => {
  // The owner asks on a page of the book and shares the conversation.
  await page.goto(PAGE);
  await page.getByTestId('bookchat-launcher').click();
  const owner = await widgetFrame(page);
  await ask(owner, 'What is ROS 2?');
  const answer = (await owner.getByTestId('msg-assistant').first().getByTestId('msg-body').innerText()).trim();
  await owner.getByTestId('conversation-menu').click();
  await owner.getByTestId('share').click();
  const url = await owner.getByTestId('share-url').inputValue();
  expect(url).toMatch(new RegExp(`^${baseURL}/share/[A-Za-z0-9_-]{22}$`));

  // Another reader opens the link: the conversation, server-rendered, not indexable.
  const other = await browser.newContext();
  const reader = await other.newPage();
  const res = await reader.goto(url);
  expect(res?.status()).toBe(200);
  expect(res?.headers()['x-robots-tag']).toContain('noindex');
  await expect(reader.locator('meta[name=robots]')).toHaveAttribute('content', /noindex/);
  await expect(reader.getByTestId('shared-question')).toHaveText(['What is ROS 2?']);
  await expect(reader.getByTestId('shared-answer')).toHaveCount(1);
  expect((await reader.getByTestId('shared-answer').innerText())).toContain(answer.slice(0, 40));
  await expect(reader.getByTestId('shared-answer').getByTestId('citation').first()).toHaveAttribute('href', /#/);

  // "Continue on the book's page": the widget opens there with the reader's own copy.
  await reader.getByTestId('continue-on-book').click();
  await expect(reader).toHaveURL(/#bookchat-share=/);
  const copy = await widgetFrame(reader);
  // The link alone copies nothing: the reader is asked first.
  await expect(copy.getByTestId('shared-offer')).toBeVisible();
  await expect(copy.getByTestId('msg-user')).toHaveCount(0);
  await copy.getByTestId('shared-offer-yes').click();
  await expect(copy.getByTestId('msg-user').getByTestId('msg-body')).toHaveText(['What is ROS 2?']);
  await expect(copy.getByTestId('notice')).toContainText('your copy');
  await ask(copy, 'How do nodes talk to each other?');
  await expect(copy.getByTestId('msg-user')).toHaveCount(2);
  // Reloading the book page reopens the same copy rather than making another.
  await reader.reload();
  const again = await widgetFrame(reader);
  await expect(again.getByTestId('msg-user')).toHaveCount(2);

  // A third reader continues on BookChat's own history pages.
  const third = await (await browser.newContext()).newPage();
  await third.goto(url);
  await third.getByTestId('continue-shared').click();
  await third.getByTestId('shared-offer-yes').click();
  await expect(third).toHaveURL(/\/conversations\/[0-9a-f-]{36}$/);
  await expect(third.locator('body[data-ready="true"]')).toBeAttached();
  await expect(third.getByTestId('msg-user').getByTestId('msg-body')).toHaveText(['What is ROS 2?']);

  // The owner's conversation is untouched by either copy.
  await expect(owner.getByTestId('msg-user')).toHaveCount(1);

  // The owner stops sharing: the link stops working at once.
  await owner.getByTestId('share-revoke').click();
  await expect(owner.getByTestId('share-panel')).toHaveCount(0);
  const gone = await reader.goto(url);
  expect(gone?.status()).toBe(404);
  await expect(reader.getByTestId('shared-missing')).toBeVisible();
  await other.close();
});

test('a link to someone\'s shared conversation puts nothing in the reader\'s history unless they say yes', async ({ page, browser, baseURL }) => {
  await page.goto(PAGE);
  await page.getByTestId('bookchat-launcher').click();
  const owner = await widgetFrame(page);
  await ask(owner, 'What is ROS 2?');
  await owner.getByTestId('conversation-menu').click();
  await owner.getByTestId('share').click();
  const url = await owner.getByTestId('share-url').inputValue();
  const id = url.split('/share/')[1];
  // A page linking straight to the continue address (as a hostile link might).
  const victim = await (await browser.newContext()).newPage();
  await victim.goto(`${baseURL}/conversations?continue=${id}`);
  await expect(victim.getByTestId('shared-offer')).toBeVisible();
  await victim.getByTestId('shared-offer-no').click();
  await expect(victim.getByTestId('shared-offer')).toHaveCount(0);
  await expect(victim.getByTestId('history-empty')).toBeVisible();
  await victim.reload();
  await expect(victim.getByTestId('history-empty')).toBeVisible();
});
