"""``make slack-preview``: the bot's real Block Kit messages, drawn as PNGs for docs/slack.md.

Each picture starts from the JSON the bot posts: the shipped demo alerts are scanned with the shipped GitOps
fixture and CMDB, and the proposals go through the same builders as in Slack (``bot/slack/blocks.py``). The
JSON is turned into a small HTML approximation of Slack's layout (header, mrkdwn sections, context, divider,
buttons with their primary/danger styles, code blocks) and screenshotted by headless Chromium through the
one subprocess runner. Where Chromium is absent the pictures are skipped with a message (exit 0).

The HTML is built like Slack reads mrkdwn: the text is already Slack-escaped (``&amp;``, ``&lt;``,
``&gt;``), ``<...>`` is a token (mention, date, link), everything else is text. Every piece of text is
HTML-escaped on its way out, links are drawn but never made clickable, and the page runs no script, so
alert text cannot inject markup into a picture.
"""
