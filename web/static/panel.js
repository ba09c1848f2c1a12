/* The agent side panel: message (+ recent turns) -> /api/suggest -> drafts to copy.
 *
 * Plain browser JavaScript, no build step. Every piece of server or customer text
 * goes into the page as a text node or an attribute value, never as HTML.
 *
 * Test and benchmark hooks: window.kefuLastRenderMs (input event -> DOM updated, ms),
 * window.kefuLastTiming, window.kefuRenders and window.kefuPanel.
 */
(() => {
  "use strict";

  const DEBOUNCE_MS = 60;
  const SLOW_MS = 3000;  // an answer not back by then: say the server is slow, not just 正在查找…
  // An answer not back by then is given up on, with 重试: a hung server or a dropped connection
  // left 服务器较慢，仍在查找… up for minutes, the drafts dimmed and refused, and no way on.
  // Past the 30 s a write waits for the store's lock, so a busy server's 503 comes first.
  const STUCK_MS = 40000;
  const AGAIN_MS = 500;  // a key pressed again within this is the same press (a draft's blank)
  // What an editor remembers of its texts (UTF-16 units, about 4 MB), for undo (remember).
  const SEEN_UNITS = 2000000;
  const MAX_DRAFTS = 3;
  const CONTEXT_TURNS = 6;  // earlier Chatwoot messages sent as context
  // What the server accepts of a message, and of 最近对话 (kb/text.py's MAX_MESSAGE, in
  // characters of its turns' text): the turns the panel adds itself (keepExchange) keep it
  // within, counted in UTF-16 units with the prefixes and line breaks, which is never less.
  // A longer message is refused with TOO_LONG, not cut: the box's maxlength cut a paste
  // silently, and counted an emoji twice.
  const TEXT_LIMIT = 100000;
  const TOO_LONG = "消息太长（超过 10 万字），没有查找：请只粘贴客户的最新消息。";
  // 最近对话's turns together (web/api.py refuses more than TEXT_LIMIT characters of text).
  const CONTEXT_TOO_LONG = "最近对话太长（各句合计超过 10 万字），请删去较早的几句后再试。";
  const FETCH_INFO = "chatwoot-dashboard-app:fetch-info";
  const SAVED = "kefu-panel-unsent";  // sessionStorage: what was typed when the login ended
  const UNSENT = "kefu-panel-feedback";  // sessionStorage: feedback refused as the login had ended
  // 【请填写订单号】 as the server writes it, or in traditional script after conversion.
  const PLACEHOLDER = /【(?:请填写|請填寫)[^】]*】/g;

  const STYLE_LABELS = {
    warm: "温和", concise: "简洁", alternative: "备选", clarify: "澄清", confirm: "确认", both: "合并",
    no_match: "无匹配", greeting: "问候", closing: "结束语",
  };
  const INTENT_LABELS = {
    greeting: "问候", presale: "售前咨询", order: "订单", logistics: "物流", aftersale: "售后",
    complaint: "投诉", thanks: "致谢",
  };
  const SENTIMENT_LABELS = { calm: "平静", anxious: "焦急", angry: "不满" };
  // The notes and the drafts' explanation lines are English for the API and CLI; the
  // server sends them in Chinese too, line for line, in `panel` (web/panel_view.py), with
  // the entry the drafts answer and each hit's question in the customer's script.
  const HIT_LINE = /^(\S+) matched 「.*」; shared terms: ([^;]*);/;
  // The retriever matches only part of a very long message (its end, or up to its last
  // question): worth a visible warning.
  const TRUNCATED = /^message longer than (\d+) characters: only (?:its end|the part from its last question on) was matched$/;
  // A quoted campaign entry's validity ends within days: the agent must see it before sending.
  const ENDING = /^\S+ is valid until \S+: it ends soon$/;

  /** The suggestion's `panel` part, with a list or map where the server sent none. */
  function panelOf(s) {
    const p = s.panel && typeof s.panel === "object" ? s.panel : {};
    return {
      notes: Array.isArray(p.notes) ? p.notes : [],
      explanations: Array.isArray(p.explanations) ? p.explanations : [],
      questions: p.questions && typeof p.questions === "object" ? p.questions : {},
      matched: p.matched && typeof p.matched === "object" ? p.matched : {},
      entry: typeof p.entry === "string" ? p.entry : null,
      small_talk: p.small_talk === true,
      blanks: p.blanks && typeof p.blanks === "object" ? p.blanks : {},
    };
  }

  /** A hit's question in the customer's script (the server's), as the drafts are written. */
  function questionOf(s, hit) {
    const q = panelOf(s).questions[hit.id];
    return typeof q === "string" && q ? q : hit.question || "";
  }

  /** The phrasing a hit matched on, in the customer's script (the server's). */
  function matchedOf(s, hit) {
    const m = panelOf(s).matched[hit.id];
    return typeof m === "string" && m ? m : hit.matched || "";
  }

  /** Line `i` of `lines` in Chinese (`zh`, the server's, line for line), else as it came. */
  function inChinese(lines, zh, i) {
    return typeof zh[i] === "string" ? zh[i] : lines[i];
  }

  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse($("kefu-config").textContent);
  const el = {
    form: $("kp-form"), message: $("kp-message"), context: $("kp-context"),
    contextBox: $("kp-context-box"), contextCount: $("kp-context-count"), contextNote: $("kp-context-note"),
    values: $("kp-values"), valuesList: $("kp-values-list"), source: $("kp-source"),
    results: $("kp-results"), status: $("kp-status"), toast: $("kp-toast"),
    refresh: $("kp-refresh"), newConversation: $("kp-new"), blocked: $("kp-blocked"), blockedText: $("kp-blocked-text"),
    login: $("kp-login"), logout: document.querySelector(".kp-logout"),
  };
  const inFrame = window.parent !== window;
  // A list; a "a, b" string (an environment variable passed through) is split.
  const allowedOrigins = new Set((Array.isArray(cfg.origins) ? cfg.origins : String(cfg.origins || "").split(/[\s,]+/))
    .map(normOrigin).filter(Boolean));

  const state = {
    headers: null,        // auth headers for /api
    seq: 0,               // number of the latest suggest request; older answers are dropped
    controller: null,     // AbortController of the request in flight
    timer: 0,             // the debounce timer of a change not yet asked about (0: none)
    inputAt: 0,           // performance.now() of the input event that the next request answers
    suggestion: null,
    message: null,        // the message the shown suggestion answers
    drafts: [],           // [{data, index, text, edited, card, textNode, editor, ...}]
    selected: -1,
    values: {},           // variable name -> value typed by the agent
    valueInputs: new Map(),
    sent: new Set(),      // feedback already recorded (no duplicates for repeated copies)
    used: new Set(),      // entries a draft of which was accepted or edited for this message
    warning: null,        // {message, text}: a draft of this message must not be sent (archived)
    restored: null,       // edits saved when the login ended: {message, drafts} (restoreTyped)
    pending: [],          // 没帮助 not sent yet: [{suggestion, draft, entry, agent}] (see reject)
    sending: new Set(),   // feedback requests in flight (退出 waits for them)
    typed: false,         // the message box last changed by keys (not pasted, not from Chatwoot)
    text: "",             // the message box as of its last input event
    replacing: false,     // the coming input replaces the whole message box
    // {message, reply}: the last draft copied for the message in the box (a reply sent),
    // added to 最近对话 when the next customer message starts (keepExchange).
    exchange: null,
    conversation: null,   // Chatwoot conversation id of the current context
    agent: null,          // Chatwoot's current agent (id, else e-mail), sent with feedback
    toastTimer: 0,
    escaped: false,       // Esc went back to the drafts while new ones were coming (render)
  };
  let draftIds = 0;  // cards' element ids (aria-describedby)
  const debug = window.kefuPanel = { ignoredMessages: 0, contexts: 0, lastCopy: null, lastMessage: "" };

  // -- DOM helpers ------------------------------------------------------------------
  /** Element with properties and children; strings become text nodes. */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function setStatus(text, kind, title) {
    el.status.textContent = text;
    el.status.dataset.kind = kind || "";
    el.status.title = title || "";
  }

  function toast(text, kind, ms) {
    clearTimeout(state.toastTimer);
    el.toast.textContent = text;
    el.toast.dataset.kind = kind || "ok";
    el.toast.hidden = false;
    state.toastTimer = setTimeout(() => { el.toast.hidden = true; }, ms || 2500);
  }

  function block(text, withLogin) {
    // Focus in what is hidden now (the message box typed in, a draft's button) is lost to
    // the page: it goes to 重新登录 instead, so Enter logs in.
    const lost = el.form.contains(document.activeElement) || el.results.contains(document.activeElement);
    el.blockedText.textContent = text;
    el.login.hidden = !withLogin;
    el.blocked.hidden = false;
    el.form.hidden = true;
    el.results.replaceChildren();
    el.refresh.hidden = true;
    setStatus("");
    if (lost && withLogin) el.login.focus();
  }

  function unblock() {
    el.blocked.hidden = true;
    el.form.hidden = false;
    el.refresh.hidden = !inFrame;
  }

  function percent(x) {
    return `${Math.round(Math.max(0, Math.min(1, Number(x) || 0)) * 100)}%`;
  }

  function num(x, digits) {
    return typeof x === "number" ? x.toFixed(digits) : "-";
  }

  // -- auth and API -------------------------------------------------------------------
  class ApiFailure extends Error {
    constructor(status, message, field, code) {
      super(message);
      this.status = status;
      this.field = field || null;  // the request field the API named
      this.code = code || null;    // the API's error code (invalid_field, too_long, …)
    }
  }

  function setupAuth() {
    if (cfg.embedded) {
      const token = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
      if (!token) {
        state.headers = null;
        block("缺少 API 令牌：请在 Chatwoot 的仪表板应用地址后加上 #token=…");
        return false;
      }
      state.headers = { Authorization: `Bearer ${token.trim()}` };
    } else {
      const meta = document.querySelector('meta[name="csrf-token"]');
      state.headers = { "X-CSRFToken": meta ? meta.content : "" };
    }
    unblock();
    return true;
  }

  function onUnauthorized() {
    if (cfg.embedded) {
      block("API 令牌无效或已被撤销：请检查 Chatwoot 仪表板应用地址中的 #token=…");
    } else {
      // Rejects still held would be sent as the page closes, with no login to take them.
      for (const p of state.pending) keepFeedback({ suggestion_id: p.suggestion, action: "reject", draft: p.draft });
      state.pending = [];
      saveTyped();
      block("登录已过期或在别处重新登录，请重新登录。", true);
    }
  }

  /** Keep what the agent typed (message, context, values, edited drafts) in this tab
   * until they log in again: the login page replaces the panel. 退出 forgets it. */
  function saveTyped() {
    const drafts = state.drafts.map(edit);
    const saved = { user: cfg.user, message: el.message.value, context: el.context.value, values: filledValues(), drafts,
      exchange: state.exchange };
    if (!saved.message.trim() && !saved.context.trim() && !saved.exchange) return;
    try {
      sessionStorage.setItem(SAVED, JSON.stringify(saved));
    } catch (_) {
      // storage full or disabled: nothing to keep it in
    }
  }

  /** Feedback the server refused because the login had ended (a draft copied, 没帮助 held):
   * kept in this tab and sent once the same user has logged in again (resendFeedback). */
  function keepFeedback(body) {
    if (cfg.embedded || !cfg.user) return;
    try {
      const kept = JSON.parse(sessionStorage.getItem(UNSENT) || "null");
      const list = kept && kept.user === cfg.user && Array.isArray(kept.feedback) ? kept.feedback : [];
      if (!list.some((b) => JSON.stringify(b) === JSON.stringify(body))) list.push(body);
      sessionStorage.setItem(UNSENT, JSON.stringify({ user: cfg.user, feedback: list }));
    } catch (_) {
      // storage full or disabled: nothing to keep it in
    }
  }

  /** What the tab kept under `key` when the login ended (read once, then forgotten), if
   * it was kept for the user now logged in. */
  function takeKept(key) {
    try {
      const kept = JSON.parse(sessionStorage.getItem(key) || "null");
      sessionStorage.removeItem(key);
      return kept && typeof kept === "object" && cfg.user && kept.user === cfg.user ? kept : null;
    } catch (_) {
      return null;
    }
  }

  /** After logging in again: record the feedback kept by keepFeedback, for the suggestions
   * it was given on, when the same user is back. {recorded, failed, why}: how many were
   * recorded, how many refused, and why the last was (for backNote). */
  async function resendFeedback() {
    const kept = takeKept(UNSENT);
    const out = { recorded: 0, failed: 0, why: "" };
    if (!kept || !Array.isArray(kept.feedback)) return out;
    for (const body of kept.feedback) {
      if (!body || typeof body !== "object" || typeof body.suggestion_id !== "string") continue;
      try {
        await post(cfg.feedback_url, body);
        out.recorded += 1;
      } catch (err) {
        if (err.status === 401) {
          keepFeedback(body);  // logged out again: kept for the next login
        } else {
          out.failed += 1;
          out.why = failureText(err);
        }
      }
    }
    return out;
  }

  /** After logging in again: the panel as it was when the login ended, for the same user.
   * What came back, named for backNote: ["客户消息", "最近对话", "填写的订单号", …]. */
  function restoreTyped() {
    const saved = takeKept(SAVED);
    if (!saved) return [];
    el.message.value = state.text = typeof saved.message === "string" ? saved.message : "";
    el.context.value = typeof saved.context === "string" ? saved.context : "";
    if (el.context.value.trim()) el.contextBox.open = true;
    updateContextCount();
    // A reply copied before the login ended still goes into 最近对话 with the next message.
    const x = saved.exchange;
    state.exchange = x && typeof x.message === "string" && typeof x.reply === "string"
      ? { message: x.message, reply: x.reply } : null;
    const names = [];
    for (const [name, value] of Object.entries(saved.values || {})) {
      if (typeof value !== "string") continue;
      state.values[name] = value;
      if (value.trim()) names.push(name);
    }
    updateValues([]);
    const drafts = (Array.isArray(saved.drafts) ? saved.drafts : []).map((d) => (d && typeof d === "object" ? d : null));
    state.restored = { message: el.message.value, drafts };
    if (el.message.value.trim()) run();
    const edited = drafts.filter((d) => d && typeof d.text === "string").length;
    return [el.message.value.trim() ? "客户消息" : null, el.context.value.trim() ? "最近对话" : null,
      names.length ? `填写的${names.join("、")}` : null, edited ? `${edited} 条改过的草稿` : null,
      state.exchange ? "刚复制的回复（下一条消息时记入最近对话）" : null].filter(Boolean);
  }

  /** One note of what came back after logging in again: what was typed (restoreTyped) and
   * the feedback recorded or refused (resendFeedback). Two notes, one after the other, left
   * the first up for a moment, and it named nothing: 已恢复登录过期前填写的内容. */
  function backNote(restored, sent) {
    const spaced = (part) => (/^\d/.test(part) ? ` ${part}` : part);  // 和 1 条, 的 1 条
    const list = (parts) => (parts.length > 1 ? `${parts.slice(0, -1).join("、")}和${spaced(parts[parts.length - 1])}`
      : spaced(parts[0]));
    let text = restored.length ? `已恢复登录过期前的${list(restored)}` : "";
    if (sent.recorded) text += text ? `，并补记了 ${sent.recorded} 条反馈` : `已补记登录过期前的 ${sent.recorded} 条反馈`;
    if (sent.failed) {
      const failed = `${text ? "" : "登录过期前的"}${sent.failed} 条反馈未能补记：${sent.why}`;
      toast(text ? `${text}；${failed}` : failed, "error", 6000);
    } else if (text) {
      toast(text, "ok", 5000);
    }
  }

  async function post(url, body, signal, keepalive) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...state.headers },
      body: JSON.stringify(body),
      signal,
      keepalive: !!keepalive,  // a request sent as the page closes still arrives
      // The embedded panel authenticates with its token only.
      credentials: cfg.embedded ? "omit" : "same-origin",
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    const error = (data && data.error) || {};
    // csrf_failed: this page's session ended or was replaced by a login in another tab.
    if (response.status === 401 || error.code === "csrf_failed") {
      onUnauthorized();
      throw new ApiFailure(401, "未登录");
    }
    if (!response.ok) {
      throw new ApiFailure(response.status, error.message || `HTTP ${response.status}`, error.field, error.code);
    }
    if (!data || typeof data !== "object") {
      // Not kefu's answer: a proxy's or sign-on gateway's page, answered 200. Reading it as
      // one would fail and leave the panel waiting; it is a server error to retry.
      throw new ApiFailure(502, `not a JSON answer (HTTP ${response.status})`, null, "bad_response");
    }
    return data;
  }

  // -- the message, the context and the request --------------------------------------
  const AGENT_PREFIX = /^(客服|我|商家|卖家|賣家|agent)$/i;
  const ROLE_PREFIX = /^\s*(客户|客戶|顾客|顧客|买家|買家|customer|客服|我|商家|卖家|賣家|agent)\s*[:：]\s*/i;

  // A chat app's own lines in a copied conversation (kb/text.py's without_chat_frame reads
  // them the same way, tests/test_assistant.py checks that both agree): a message's header,
  // the sender's nickname and the time ("tb12345678 2026-12-01 10:02:11"), notices
  // (以下为新消息, 客户已离开) and the platform's system lines (系统消息：客户已进入店铺,
  // 以下为机器人回复, whose robot's lines up to the next header are dropped). As in Python, a nickname's length counts characters (the u
  // flag), a digit is any script's (\p{Nd}: ２０２６), and a notice may mix the scripts
  // (会话已關閉: Python reads it converted to simplified).
  const CHAT_HEADER = /^(?!\S*[:：]\p{Nd})(\S{0,39}[^\s:：])[ \t]+(?:(\p{Nd}{4}[-/.年])?\p{Nd}{1,2}[-/.月]\p{Nd}{1,2}日?[ \t]+\p{Nd}{1,2}:\p{Nd}{2}(:\p{Nd}{2})?|\p{Nd}{1,2}:\p{Nd}{2}(:\p{Nd}{2}))$/u;
  // No nickname: one made only of an order or tracking number or of time words (明天 12-02 10:00
  // is said); a nickname holding them is one (时间煮雨, 用户7392847562934).
  const NO_NICKNAME = /^(?:(?:[订訂][单單][编編]?[号號]?|[单單][号號])?(?:\p{Nd}{12,}|(?:SF|YT|ZT|YD|JT|JD[A-Z]{0,2}|STO|ZTO|YTO|EMS)\p{Nd}{9,})|(?:[今明后後昨前]天|改[到成为為在]|[预預][约約]|[约約][的好在]?|[时時][间間]|日期|原[来來]|之前|[上下]午|中午|晚上|早上|的)+)$/u;
  /** The sender's nickname when `line` is a header: with a year or seconds, or a 千牛
   * sub-account's (shop:agent) with a date (kb/text.py's chat_header). */
  function chatHeader(line) {
    const m = CHAT_HEADER.exec(pyStrip(line));
    if (!m || NO_NICKNAME.test(m[1])) return null;
    return m[2] || m[3] || m[4] || /[:：]/.test(m[1]) ? m[1] : null;
  }
  const NOTICE = String.raw`以[上下][为是為](?:新|[历歷]史)消息|(?:客[户戶]|[顾顧]客|[买買]家|[对對]方|用[户戶])已(?:[离離][开開]|下[线線])|(?:客[户戶]|[顾顧]客|[买買]家|[对對]方|用[户戶])(?:已[进進]入了?(?:店[铺鋪]|[会會][话話]|咨[询詢]|聊天)?|[进進]入了?(?:店[铺鋪]|[会會][话話]|咨[询詢]|聊天))|以[上下][为是為](?:机器人|機器人|智能客服|智能助手|自[动動])(?:自[动動])?回[复復覆]|[会會][话話]已(?:[结結]束|[关關][闭閉])|\S{0,20}撤回了一[条條]消息`;
  const CHAT_NOTICE = new RegExp(String.raw`^[-—=─·.\s\x85]*(?:[\[【]?系[统統](?:消息|提示|通知)[\]】]?[:：\s\x85]*(?:${NOTICE})?|${NOTICE})[-—=─·.\s\x85]*$`, "u");
  // A notice that the shop's robot's replies follow (kb/text.py's bot_reply_below).
  const BOT_BELOW = /以下[为是為](?:机器人|機器人|智能客服|智能助手|自[动動])(?:自[动動])?回[复復覆]/u;
  // Python's str.strip: JavaScript's trim leaves U+0085 and U+001C-001F, and takes U+FEFF.
  const pyStrip = (s) => s.replace(/^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g, "");
  // The shop's side: a 千牛 sub-account (青禾优选:小禾) or a name that says so (客服小禾, 官方旗舰店).
  const SHOP_NICKNAME = /[:：]|客服|官方|旗舰|旗艦|专营|專營|专卖|專賣|店铺|店鋪|小二/;

  /** "客户：…" / "客服：…" lines (unprefixed lines are the customer's), oldest first. In a
   * conversation copied out of a chat app, a line under a nickname-and-time header is that
   * sender's. As suggest/assistant.py's conversation_turns: the sides are told only when a
   * nickname says it is the shop's (SHOP_NICKNAME; the shop before a sub-account's colon too):
   * the first other nickname is the customer's, any other the shop's again; without one,
   * every line is the customer's. */
  function parseContext(text) {
    const lines = text.split(/\r?\n/);
    const names = lines.map(chatHeader);
    const shop = new Set(names.filter((name) => name !== null && SHOP_NICKNAME.test(name)));
    for (const name of [...shop]) shop.add(name.split(/[:：]/)[0]);
    const customer = names.find((name) => name !== null && !shop.has(name));
    const turns = [];
    const headed = names.some((name) => name !== null);
    let speaker = null;
    let bot = false;
    lines.forEach((line, i) => {
      const name = names[i];
      if (name !== null) {
        speaker = !shop.size || name === customer ? "customer" : "agent";
        bot = false;
        return;
      }
      if (CHAT_NOTICE.test(line)) {
        // 以下为机器人回复: the robot's lines under it, up to the next header or notice
        // (以下为新消息), are nobody's words either (without headers nothing tells where
        // they end: they are kept)
        bot = headed && BOT_BELOW.test(line);
        return;
      }
      if (bot) return;
      const m = ROLE_PREFIX.exec(line);
      const role = m ? (AGENT_PREFIX.test(m[1]) ? "agent" : "customer") : speaker || "customer";
      const turn = pyStrip(m ? line.slice(m[0].length) : line);
      if (turn) turns.push({ role, text: turn });
    });
    return turns;
  }

  function filledValues() {
    const out = {};
    for (const [name, value] of Object.entries(state.values)) {
      if (value.trim()) out[name] = value.trim();
    }
    return out;
  }

  function schedule(immediate) {
    state.inputAt = performance.now();
    busy();
    clearTimeout(state.timer);
    state.timer = setTimeout(run, immediate ? 0 : DEBOUNCE_MS);
  }

  async function run() {
    clearTimeout(state.timer);
    state.timer = 0;
    if (!state.headers) return;
    const seq = ++state.seq;
    if (state.controller) state.controller.abort();
    state.controller = null;
    const message = el.message.value;
    if (!message.trim()) {
      clearResults();
      return;
    }
    if (tooLong(message)) {  // as the server would answer it, without sending it
      answered();
      showError(new ApiFailure(413, "message too long", "message", "too_long"));
      return;
    }
    const controller = state.controller = new AbortController();
    const inputAt = state.inputAt || performance.now();
    const startedAt = performance.now();
    setStatus("正在查找…", "busy");
    busy();
    const slow = setTimeout(() => {
      if (seq === state.seq) setStatus("服务器较慢，仍在查找…", "busy", "可以继续输入；新草稿出来前，旧草稿不能复制");
    }, SLOW_MS);
    let stuck = false;
    const hung = setTimeout(() => {
      if (seq !== state.seq) return;
      stuck = true;
      controller.abort();
    }, STUCK_MS);
    let data;
    try {
      const body = { message, context: parseContext(el.context.value), values: filledValues() };
      const replaces = replaceable(message);
      if (replaces) body.replaces = replaces;
      data = await post(cfg.suggest_url, body, controller.signal);
    } catch (err) {
      if (seq !== state.seq || (err.name === "AbortError" && !stuck)) return;
      answered();
      if (err.status === 401) return;
      showError(stuck ? new ApiFailure(0, "no answer in time", null, "no_answer") : err);
      return;
    } finally {
      clearTimeout(slow);
      clearTimeout(hung);
    }
    if (seq !== state.seq) return;  // a newer message is already on its way
    state.controller = null;
    const fetchedAt = performance.now();
    render(data, seq, message);
    debug.lastMessage = message;
    const doneAt = performance.now();
    const timing = {
      total: doneAt - inputAt, wait: startedAt - inputAt,
      fetch: fetchedAt - startedAt, render: doneAt - fetchedAt,
    };
    window.kefuLastRenderMs = timing.total;
    window.kefuLastTiming = timing;
    window.kefuRenders = (window.kefuRenders || 0) + 1;
    // The status is what a screen reader says of an answer (the results area is not live:
    // it would read every draft aloud each time the agent pauses typing).
    const found = data.no_match && !panelOf(data).small_talk ? "没有匹配的答案 · " : "";
    setStatus(`${found}${state.drafts.length} 条草稿 · 响应 ${Math.round(timing.fetch)} ms`, "ok",
      `服务器响应 ${Math.round(timing.fetch)} ms；从输入到显示 ${Math.round(timing.total)} ms`
      + `（含 ${DEBOUNCE_MS} ms 输入停顿）`);
  }

  /** Whether `text` is longer than the server takes: characters as Python counts them
   * (code points; an emoji is one, two UTF-16 units). */
  function tooLong(text) {
    if (text.length <= TEXT_LIMIT) return false;
    let n = 0;
    for (const _ of text) if (++n > TEXT_LIMIT) return true;
    return false;
  }

  /** The shown drafts answer an older text (message, context or values) until the
   * request for the current one is answered: dimmed, and not to be copied (see stale). */
  function busy() {
    el.results.setAttribute("aria-busy", "true");
  }

  /** The request for the current text is answered: the drafts may be copied, unless a
   * change made meanwhile waits for its own (a key typed into 填写变量 as the answer came):
   * copying then filled the card's blank with the newer value, a text it did not show. */
  function answered() {
    if (!state.timer) el.results.removeAttribute("aria-busy");
  }

  /** True, with a note, while the shown drafts answer an older text: copying one then
   * would paste the previous message's answer and record an accept for it. */
  function stale() {
    if (el.results.getAttribute("aria-busy") !== "true") return false;
    toast("草稿正在按新内容更新，请等新草稿出来再复制或反馈", "warn");
    return true;
  }

  /** The shown suggestion, when the agent is typing `message` on from it (or filling in
   * its values) and has done nothing with it: the server then marks it superseded, so a
   * message counts once in statistics. A message pasted or sent by Chatwoot is a new one,
   * even when it starts like the last ("在吗" then "在吗？我的快递到哪了"). */
  function replaceable(message) {
    const s = state.suggestion;
    if (!state.typed || !s || !s.suggestion_id || state.message == null || state.pending.length) return null;
    if (!message.startsWith(state.message)) return null;
    const prefix = s.suggestion_id + "\u0000";
    for (const key of state.sent) if (key.startsWith(prefix)) return null;
    return s.suggestion_id;
  }

  /** An API error in Chinese, by its status and the field it names. The API's own text is
   * English, for integrations; an error the panel's requests cannot meet gets a general line. */
  function failureText(err) {
    if (!(err instanceof ApiFailure)) return "无法连接服务器，请稍后再试。";
    // 503 busy: another kefu (a large import) holds the store's write lock; nothing is broken.
    if (err.status === 503 && err.code === "busy") return "知识库正忙（可能正在导入），请稍等片刻再试。";
    if (err.status >= 500) return "服务器出错了，请稍后再试。";
    if (err.status === 403) return "当前账号没有使用助手的权限。";
    if (err.status === 404) return "这条建议的记录已不存在（可能已超过保留期）。";
    if (err.status === 409) return "与已采用的草稿矛盾，没有记录。";
    if (err.status === 429) return "请求太频繁，请稍后再试。";
    if (err.status === 413 && err.field === "text") return "改过的回复太长（超过 10 万字），这次反馈没有记录。";
    if (err.status === 413 && err.field === "values") return "填写的变量值太长（超过 10 万字），请改短后再试。";
    if (err.status === 413) return "内容太长，没有保存。";
    // A draft's entry that cannot take feedback: an editor archived it after it was shown.
    if (err.status === 400 && err.field === "draft") return "这条草稿的条目刚被归档或已不存在，这次反馈没有记录。";
    if (err.status === 400 && err.field === "agent") return "Chatwoot 传来的客服标识无效（最多 64 个字符，不能含 /），这次反馈没有记录。";
    return "请求有误，没有保存；请刷新页面后再试。";
  }

  function clearResults() {
    leaveMessage(false);
    el.results.replaceChildren();
    el.results.removeAttribute("aria-busy");
    delete el.results.dataset.seq;
    delete el.results.dataset.suggestionId;
    debug.lastMessage = "";
    state.suggestion = null;
    state.message = null;
    state.drafts = [];
    state.selected = -1;
    state.escaped = false;
    setStatus("");
    updateValues([]);
  }

  function showError(err) {
    const text = err.status === 413 && err.field === "context" ? CONTEXT_TOO_LONG
      : err.status === 413 && err.field === "message" ? TOO_LONG
      // Only invisible characters (a zero-width space, a control character): nothing to look up.
      : err.status === 400 && err.field === "message" ? "这条消息没有可查找的文字（只有空白或不可见字符），请粘贴客户消息的文字。"
      : err.code === "no_answer" ? `服务器 ${STUCK_MS / 1000} 秒没有回应，请稍后点重试；一直这样请联系管理员。`
      : err instanceof ApiFailure ? `出错了：${failureText(err)}`
        : "无法连接服务器，请稍后再试。";
    // Out of reach or failing: the same text may well work in a moment, and without a way
    // to ask again the agent had to change the message to get drafts.
    const again = !(err instanceof ApiFailure) || err.status >= 500 || err.status === 429 || err.code === "no_answer";
    const retry = again ? h("button", { type: "button", class: "kp-small", onclick: () => {
      el.message.focus();  // the button is about to go with the error
      schedule(true);
    } }, "重试") : null;
    const held = el.results.contains(document.activeElement);
    el.results.replaceChildren(h("p", { class: "kp-error card", role: "alert" }, text, retry ? " " : null, retry));
    // The keyboard was on a draft that went with the error: on 重试, else the message.
    if (held) (retry || el.message).focus();
    state.escaped = false;
    setStatus("出错", "error");
  }

  // -- rendering ------------------------------------------------------------------------
  function render(s, seq, message) {
    // Same message again (a variable was filled in, the context changed): the agent's
    // edits and selection survive; a new message starts afresh.
    const same = message === state.message;
    // Edits to keep: this message's cards, or those saved when the login ended (restoreTyped).
    const restored = state.restored && state.restored.message === message ? state.restored.drafts : null;
    const previous = same ? state.drafts.map(edit) : restored || [];
    state.restored = null;
    const selected = same ? state.selected : -1;
    if (!same) leaveMessage(false);
    state.suggestion = s;
    state.message = message;
    state.drafts = [];
    state.selected = -1;
    const hits = Array.isArray(s.hits) ? s.hits : [];
    const drafts = (Array.isArray(s.drafts) ? s.drafts : []).slice(0, MAX_DRAFTS);
    const parts = [renderSummary(s)];
    if (state.warning && state.warning.message !== message) state.warning = null;
    if (state.warning) parts.push(h("p", { class: "kp-error card", role: "alert" }, state.warning.text));
    const notes = Array.isArray(s.notes) ? s.notes : [];
    const cut = notes.findIndex((n) => TRUNCATED.test(n));
    if (cut >= 0) parts.push(h("p", { class: "kp-warn card", role: "note" }, inChinese(notes, panelOf(s).notes, cut)));
    notes.forEach((n, i) => {
      if (ENDING.test(n)) parts.push(h("p", { class: "kp-warn card", role: "note" }, inChinese(notes, panelOf(s).notes, i)));
    });
    // The match shown is the entry the drafts answer: the top hit may be one the
    // assistant left out (written for another region, say), which no draft uses.
    const shown = hits.find((hit) => hit.id === panelOf(s).entry);
    // A greeting or thanks is answered by its 话术 line: no missing answer to report.
    if (s.no_match && !panelOf(s).small_talk) parts.push(renderNoMatch(s, hits));
    else if (shown) parts.push(renderHit(s, shown));
    const list = h("ol", { class: "kp-drafts", "aria-label": "回复草稿" });
    drafts.forEach((d, i) => list.append(renderDraft(s, d, i, hits, carried(previous[i], d))));
    if (drafts.length) parts.push(list);
    const refs = Array.isArray(s.references) ? s.references : [];
    if (refs.length) parts.push(renderReferences(refs));
    // A card or button of the drafts replaced here held the keyboard focus (a click refused
    // while these drafts were coming, an archived entry's drafts asked for again): it fell
    // to the page, and Tab started over from the top.
    const held = el.results.contains(document.activeElement);
    const editing = held && document.activeElement.classList.contains("kp-editor");
    el.results.replaceChildren(...parts);
    el.results.dataset.seq = String(seq);
    el.results.dataset.suggestionId = s.suggestion_id || "";
    answered();
    for (const item of state.drafts) fitEditor(item.editor);  // editors kept open from the last answer
    updateValues(drafts);
    if (selected >= 0 && selected < state.drafts.length) select(selected);
    // Esc pressed before these drafts came: the focus went with the card it was on. Not
    // when the page itself lost the focus meanwhile (the agent clicked the help desk's reply
    // box around the embedded panel): taking it back would type their words in here.
    const lost = document.hasFocus() && (!document.activeElement || document.activeElement === document.body);
    if ((state.escaped || held) && lost) select(Math.max(state.selected, 0), { focus: true, scroll: true });
    // (an editor kept open, where the agent was typing, takes it back)
    const open = editing && lost && state.drafts[state.selected];
    if (open && !open.editor.hidden) open.editor.focus();
    state.escaped = false;
  }

  /** A card's edit, to carry over to the next render: {style, entries, text, open, template},
   * or null when the card is neither edited nor being edited; `text` is null for an editor
   * opened but not edited, which then shows the new draft (with a value filled in since);
   * `template`: an edited text with its blanks, which the next render fills (templateOf). */
  function edit(item) {
    const open = !item.editor.hidden;
    const text = currentText(item);
    return item.edited || open
      ? { style: item.data.style, entries: (item.data.entry_ids || []).join(), text: item.edited ? text : null, open,
        template: item.edited ? templateOf(item) : null }
      : null;
  }

  /** The previous card's edit, when the new draft is the same kind over the same entries. */
  function carried(prev, d) {
    if (!prev || (typeof prev.text !== "string" && prev.text !== null) || prev.style !== d.style
        || prev.entries !== (d.entry_ids || []).join()) return null;
    return prev;
  }

  function chip(text, cls, title) {
    return h("span", { class: `kp-chip ${cls || ""}`.trim(), title }, text);
  }

  function renderSummary(s) {
    const chips = [chip(INTENT_LABELS[s.intent] || s.intent || "未知", `kp-intent-${s.intent}`, "意图")];
    if (s.sentiment && s.sentiment !== "calm") {
      chips.push(chip(SENTIMENT_LABELS[s.sentiment] || s.sentiment, `kp-sentiment-${s.sentiment}`, "情绪"));
    }
    if (s.urgency === "high") chips.push(chip("紧急", "kp-urgent", "紧急程度"));
    if (s.script === "traditional") chips.push(chip("繁體", "kp-script", "客户使用繁体字，草稿已转为繁体"));
    if (s.first_message) chips.push(chip("首句", "kp-first", "会话的第一条消息"));
    return h("div", { class: "kp-summary" }, chips);
  }

  function confidenceBar(confidence) {
    const bar = h("span", { class: "kp-conf-fill" });
    bar.style.width = percent(confidence);
    const level = confidence >= 0.8 ? "high" : confidence >= 0.5 ? "mid" : "low";
    return h("span", { class: "kp-conf", dataset: { level }, title: `置信度 ${percent(confidence)}` },
      h("span", { class: "kp-conf-track" }, bar), h("span", { class: "kp-conf-text" }, percent(confidence)));
  }

  function renderHit(s, hit) {
    // A confident match can be wrong too: the agent reports the missing answer from here
    // (a gap for editors), not only when kefu itself found none.
    return h("div", { class: "kp-hit card" },
      h("div", { class: "kp-hit-head" },
        h("span", { class: "kp-label" }, "匹配条目"),
        hit.category ? chip(hit.category, `kp-cat${hit.category === "投诉" ? " kp-cat-complaint" : ""}`, "分类") : null,
        confidenceBar(hit.confidence)),
      h("p", { class: "kp-hit-question" }, questionOf(s, hit)),
      hit.matched && hit.matched !== hit.question
        ? h("p", { class: "kp-muted kp-hit-matched" }, "匹配问法：", h("q", null, matchedOf(s, hit))) : null,
      h("div", { class: "kp-actions" }, reportButton("都不对，报告缺失答案")));
  }

  /** 报告缺失答案: tells editors the base lacks the answer to this message. */
  function reportButton(label) {
    const report = h("button", { type: "button", class: "kp-small", title: "告诉编辑：知识库缺少这个问题的答案" }, label);
    report.addEventListener("click", () => {
      if (isOff(report) || stale()) return;
      sendFeedback("no_match", null, null).then((ok) => {
        if (ok) {
          turnOff(report);
          report.textContent = "已报告，谢谢";
        }
      });
    });
    return report;
  }

  function renderNoMatch(s, hits) {
    const report = reportButton("报告缺失答案");
    const near = hits.slice(0, 3);
    return h("div", { class: "kp-nomatch card", role: "note" },
      h("p", null, h("strong", null, "知识库中没有足够匹配的答案。"), "下面是安抚或澄清的话术，请勿自行编造答案。"),
      h("div", { class: "kp-actions" }, report),
      near.length ? h("details", { class: "kp-near" },
        h("summary", null, "最接近的条目（仅供参考）"),
        h("ul", null, near.map((hit) => h("li", null,
          h("span", null, questionOf(s, hit)), " ", confidenceBar(hit.confidence))))) : null);
  }

  /** Draft text with flagged words and 【请填写…】 placeholders highlighted. */
  function highlighted(text, flags) {
    const units = codeUnits(text);
    const marks = [];
    for (const f of flags || []) {
      if (!Number.isInteger(f.start) || !Number.isInteger(f.end) || f.start < 0 || f.end <= f.start
          || f.end >= units.length) continue;
      const where = f.source === "entry" ? "条目原文" : "话术";
      marks.push({ start: units[f.start], end: units[f.end], kind: "flag",
        title: `${f.reason || "敏感"}：${f.word}（${where}）` });
    }
    for (const m of text.matchAll(PLACEHOLDER)) {
      marks.push({ start: m.index, end: m.index + m[0].length, kind: "var", title: "待填写：发送前请替换" });
    }
    marks.sort((a, b) => a.start - b.start || b.end - a.end);
    const out = [];
    let pos = 0;
    for (const mark of marks) {
      if (mark.start < pos) continue;  // overlaps an earlier mark
      if (mark.start > pos) out.push(text.slice(pos, mark.start));
      const piece = text.slice(mark.start, mark.end);
      out.push(mark.kind === "flag"
        ? h("mark", { class: "kp-flag", title: mark.title }, piece)
        : h("span", { class: "kp-var", title: mark.title }, piece));
      pos = mark.end;
    }
    if (pos < text.length) out.push(text.slice(pos));
    return out;
  }

  function renderWhy(s, d, index, hits) {
    // Lines about a hit repeat its scores, shown below in full; only its shared terms are new.
    const shared = {};
    const lines = [];
    const explanation = Array.isArray(d.explanation) ? d.explanation : [];
    const zh = panelOf(s).explanations[index] || [];
    explanation.forEach((line, i) => {
      const m = HIT_LINE.exec(line);
      if (m) shared[m[1]] = m[2];
      else lines.push(inChinese(explanation, zh, i));
    });
    const items = [];
    for (const hit of hits) {
      if (!(d.entry_ids || []).includes(hit.id)) continue;
      const sc = hit.scores || {};
      const dense = Object.entries(sc.dense || {}).map(([m, v]) => `${m} ${num(v, 3)}`).join("，");
      items.push(h("div", { class: "kp-why-hit" },
        h("div", null, "条目：", h("strong", null, questionOf(s, hit) || hit.id), hit.category ? `（${hit.category}）` : ""),
        h("div", null, "匹配问法：", h("q", null, matchedOf(s, hit))),
        shared[hit.id] && shared[hit.id] !== "-" ? h("div", null, `共同关键词：${shared[hit.id]}`) : null,
        h("div", { class: "kp-mono" },
          `综合 ${num(sc.score, 3)} · 语义 ${dense || "-"} · 关键词 ${num(sc.lexical, 2)} · 置信度 ${percent(hit.confidence)}`)));
    }
    const said = Array.isArray(s.notes) ? s.notes : [];
    const notes = said.map((n, i) => inChinese(said, panelOf(s).notes, i)).filter((n) => !lines.includes(n));
    return h("details", { class: "kp-why" },
      h("summary", null, "为什么"),
      items,
      lines.length ? h("ul", { class: "kp-mono kp-why-lines" }, lines.map((t) => h("li", null, t))) : null,
      notes.length ? h("ul", { class: "kp-why-notes" }, notes.map((t) => h("li", null, t))) : null);
  }

  function renderDraft(s, d, index, hits, carry) {
    const text = typeof d.text === "string" ? d.text : "";
    const flags = Array.isArray(d.flags) ? d.flags : [];
    const item = { data: d, index, original: text, text, edited: false, feedback: null, blanks: blanksOf(d, panelOf(s).blanks) };
    item.segments = segmentsOf(text, d, item.blanks);
    const n = index + 1;

    const id = `kp-draft-${++draftIds}`;
    const textNode = h("div", { class: "kp-draft-text", id: `${id}-text`,
      lang: s.script === "traditional" ? "zh-Hant" : "zh-Hans" }, highlighted(text, flags));
    const editor = h("textarea", { class: "kp-editor", rows: 4, hidden: true, "aria-label": `编辑草稿 ${n}` });
    const acceptBtn = h("button", { type: "button", class: "primary kp-small", title: `复制到剪贴板并记为采用（Alt+${n}）` },
      "采用并复制");
    const editBtn = h("button", { type: "button", class: "kp-small" }, "编辑");
    const rejectBtn = h("button", { type: "button", class: "kp-small kp-reject", title: "这条草稿没有帮助" }, "没帮助");
    const editedMark = h("span", { class: "kp-edited", hidden: true }, "已编辑");
    // Shown while the text still holds a 【请填写…】 (an edit may have filled it in), naming
    // the variables of those it holds (showBlanks); on every card, as a value emptied above
    // brings a blank back into an edited text.
    const missingNames = h("span", null, (d.missing_variables || []).join("、"));
    const missing = h("p", { class: "kp-missing", id: `${id}-missing` }, "待填写：", missingNames,
      " · 复制前请在上方填写或编辑草稿");
    // The words and why, on the card: a tooltip reaches neither the keyboard nor a touch screen.
    const flagged = [...new Set(flags.map((f) => (f.reason ? `${f.word}（${f.reason}）` : String(f.word))))];
    const warn = flags.length
      ? h("span", { class: "kp-flag-count", title: flags.map((f) => `${f.word}：${f.reason}`).join("\n") },
        `⚠ 注意用词：${flagged.join("、")}`) : null;
    // 备选, or the draft of a message's second question, answers another entry than the
    // match shown above: say which (in the customer's script, as the draft is), so the
    // agent need not open 为什么 to know what it is about.
    const answers = entryOf(d);
    const other = answers !== panelOf(s).entry ? hits.find((hit) => hit.id === answers) : null;
    const label = other ? questionOf(s, other) : null;
    const about = label ? h("span", { class: "kp-muted kp-about", title: "这条草稿回答的条目" }, label) : null;

    const card = h("li", {
      class: "kp-draft card", tabindex: "0", dataset: { index: String(index) },
      "aria-label": `草稿 ${n}：${STYLE_LABELS[d.style] || d.style}`,
    },
    h("div", { class: "kp-draft-head" },
      h("kbd", { title: `Alt+${n}` }, String(n)),
      h("span", { class: "kp-style", dataset: { style: d.style || "" } }, STYLE_LABELS[d.style] || d.style || "草稿"),
      about, editedMark, warn),
    textNode, editor, missing,
    h("div", { class: "kp-actions" }, acceptBtn, editBtn, rejectBtn),
    renderWhy(s, d, index, hits));

    Object.assign(item, { card, textNode, editor, editBtn, rejectBtn, editedMark, missing, missingNames });
    state.drafts.push(item);
    if (state.used.has(entryOf(d))) keepFromRejecting(item);
    else if (state.pending.some((p) => p.draft === n && p.entry === entryOf(d))) markRejected(item);
    if (carry) {
      // An editor opened but not edited takes the new text (a variable filled in meanwhile);
      // an edited text keeps the agent's words, with the values as they are now in its blanks.
      if (typeof carry.text === "string") {
        const template = Array.isArray(carry.template) && carry.template.every(isPart)
          ? carry.template : templateOf({ segments: segmentsOf(carry.text, d, item.blanks) });
        for (const part of template) if (typeof part !== "string") knowBlank(item.blanks, part.slice(0, 2));
        item.segments = fillIn(template, d);
        item.text = item.segments.map((part) => part.text).join("");
      }
      item.edited = item.text !== item.original;
      editedMark.hidden = !item.edited;
      if (carry.open === true) openEditor(item, false);
      else textNode.replaceChildren(...highlighted(item.text, item.edited ? [] : flags));
    }
    showBlanks(item);

    // The second click of a double click must not confirm copying a draft with blanks (accept).
    acceptBtn.addEventListener("click", (e) => { if (e.detail < 2) accept(index, false); });
    editBtn.addEventListener("click", () => toggleEdit(item));
    rejectBtn.addEventListener("click", () => reject(item));
    editor.addEventListener("input", () => {
      fitEditor(editor);
      currentText(item);
      showBlanks(item);
    });
    editor.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (!e.repeat) accept(index, true);
      } else if (e.key === "Enter" && !e.shiftKey && !e.altKey && isBlank(selectedText(editor))) {
        // A second Enter (the one that opened this editor on the blank, pressed again or
        // held) would replace the selected 【请填写…】 with a line break: the blank and its
        // warning gone, nothing filled in.
        e.preventDefault();
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        toggleEdit(item);
      }
    });
    // Pointer and Tab focus select without scrolling (the browser shows what it focuses, but
    // may leave the card's top under the bar: clearOfBar).
    card.addEventListener("focusin", (e) => {
      select(index);
      if (e.target === card || e.target.matches("button, summary")) clearOfBar(card, e.target);
    });
    card.addEventListener("click", (e) => {
      if (!e.target.closest("button, textarea, summary, details")) select(index, { focus: true });
    });
    return card;
  }

  function renderReferences(refs) {
    return h("section", { class: "kp-refs", "aria-label": "参考资料" },
      h("h2", null, "参考资料", h("span", { class: "kp-muted" }, " 文档原文，可引用；不是现成回复")),
      refs.map((r) => {
        const where = [r.source || "未知来源", r.section || null,
          Number.isInteger(r.page) ? `第 ${r.page} 页` : null].filter(Boolean).join(" · ");
        const copyBtn = h("button", { type: "button", class: "kp-small kp-link" }, "复制引文");
        const quote = h("blockquote", null, r.text || "");
        copyBtn.addEventListener("click", () => {
          copyText(r.text || "", quote).then((how) => reportCopy(how, "已复制引文"));
        });
        return h("figure", { class: "kp-ref" }, quote,
          h("figcaption", null, h("span", { class: "kp-ref-source", title: where }, `来源：${where}`), copyBtn));
      }));
  }

  // -- variables ------------------------------------------------------------------------
  /** One input per missing variable (and per variable already given a value). */
  function updateValues(drafts) {
    const names = new Set();
    for (const d of drafts) for (const name of d.missing_variables || []) names.add(name);
    for (const [name, value] of Object.entries(state.values)) if (value.trim()) names.add(name);
    for (const [name, input] of state.valueInputs) {
      if (!names.has(name) && document.activeElement !== input) {
        input.closest("label").remove();
        state.valueInputs.delete(name);
      }
    }
    for (const name of names) {
      if (state.valueInputs.has(name)) continue;
      const input = h("input", { type: "text", value: state.values[name] || "", "aria-label": name, placeholder: "填写后草稿自动更新" });
      input.addEventListener("input", () => {
        state.values[name] = input.value;
        schedule(false);
      });
      state.valueInputs.set(name, input);
      el.valuesList.append(h("label", { class: "kp-value" }, h("span", null, name), input));
    }
    el.values.hidden = state.valueInputs.size === 0;
  }

  /** Whether `after` is `before` edited (typed on, a typo fixed) rather than another
   * message: it keeps at least half of `before`, at its start and end. */
  function continues(before, after) {
    let head = 0;
    while (head < before.length && head < after.length && before[head] === after[head]) head += 1;
    let tail = 0;
    while (tail < before.length - head && tail < after.length - head
           && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail += 1;
    return (head + tail) * 2 >= before.length;
  }

  function resetValues() {
    state.values = {};
    state.valueInputs.clear();
    el.valuesList.replaceChildren();
    el.values.hidden = true;
  }

  // -- selection, editing, copying, feedback -------------------------------------------------
  /** Mark draft `index` selected; `focus` moves the keyboard focus to its card and
   * `scroll` brings the card into view. Only keyboard selection scrolls: a mouse-down on a
   * button focuses its card, and a scroll before the mouse-up would move the button from
   * under the pointer, so the click would land on the card and be lost. */
  function select(index, { focus = false, scroll = false } = {}) {
    if (index < 0 || index >= state.drafts.length) return;
    state.selected = index;
    state.drafts.forEach((item, i) => {
      item.card.classList.toggle("kp-selected", i === index);
      if (i === index) item.card.setAttribute("aria-current", "true");
      else item.card.removeAttribute("aria-current");
    });
    const card = state.drafts[index].card;
    if (focus && !card.contains(document.activeElement)) card.focus({ preventScroll: true });
    if (scroll) card.scrollIntoView({ block: "nearest" });
  }

  /** Keyboard focus on `card` or a button of it (`target`): the card's top scrolled out from
   * under the sticky bar. The browser's focus scroll leaves alone what is in the window,
   * bar or not (the scroll margin counts only when it scrolls): Shift+Tab back to a card
   * taller than the window less the bar left its number and first line under the bar.
   * Not so far that `target` leaves the window, and never for a pointer's focus (select). */
  function clearOfBar(card, target) {
    if (!target.matches(":focus-visible")) return;
    const bar = document.querySelector(".kp-bar");
    const under = bar ? bar.getBoundingClientRect().bottom : 0;
    const top = card.getBoundingClientRect().top;
    if (top >= under) return;
    const below = Math.max(under, parseFloat(getComputedStyle(card).scrollMarginTop) || 0);
    const room = target === card ? Infinity : window.innerHeight - target.getBoundingClientRect().bottom;
    const by = Math.min(below - top, room);
    if (by > 0) window.scrollBy(0, -by);
  }

  function openEditor(item, focus) {
    item.editor.value = item.text;
    item.seen = new Map();
    item.seenUnits = 0;
    item.opened = item.text;
    remember(item, item.text);
    item.editor.hidden = false;
    item.textNode.hidden = true;
    item.editor.style.height = "";  // 4 rows, grown to the text it now holds
    fitEditor(item.editor);
    item.editBtn.textContent = "完成";
    if (focus) item.editor.focus();
  }

  /** Grow an editor to its text (from 4 rows, up to 60% of the window): a long draft in a
   * 4-row box hid its end, and the blanks there, while it was edited. It never shrinks
   * as the agent types: a page growing shorter under the caret would jump. */
  function fitEditor(editor) {
    if (!editor.isConnected || editor.hidden) return;  // no height to measure (render fits it later)
    if (editor.scrollHeight > editor.clientHeight) {
      editor.style.height = `${editor.scrollHeight + editor.offsetHeight - editor.clientHeight}px`;
    }
  }

  function toggleEdit(item) {
    if (item.editor.hidden) {
      openEditor(item, true);
    } else {
      currentText(item);
      item.editor.hidden = true;
      refill(item);
      item.textNode.hidden = false;
      // The server's flag offsets only fit the original text.
      item.textNode.replaceChildren(...highlighted(item.text, item.edited ? [] : item.data.flags));
      item.editedMark.hidden = !item.edited;
      showBlanks(item);
      item.editBtn.textContent = "编辑";
      item.card.focus({ preventScroll: true });
    }
  }

  /** A card's text, as its editor holds it while open (its template follows the edit):
   * a text it held before in this editor (Ctrl+Z) gets back the segments it had then, so a
   * value undone is a slot again, not the agent's words. */
  function currentText(item) {
    if (!item.editor.hidden) {
      if (item.editor.value !== item.text) {
        const caret = document.activeElement === item.editor ? item.editor.selectionStart : null;
        item.segments = item.seen.get(item.editor.value)
          || withBlanks(retyped(item.segments, item.editor.value, caret), item.blanks);
        remember(item, item.editor.value);
      }
      item.text = item.editor.value;
      item.edited = item.text !== item.original;
      item.editedMark.hidden = !item.edited;
    }
    return item.text;
  }

  /** Copy `text`: the Clipboard API, else a hidden textarea and execCommand (still inside
   * the click or key press), else select `node` for Ctrl+C. Resolves to how it went. */
  function copyText(text, node) {
    // Decided before any await: execCommand needs the user's gesture.
    if (navigator.clipboard && window.isSecureContext && clipboardAllowed()) {
      return navigator.clipboard.writeText(text).then(() => "clipboard",
        () => legacyCopy(text) ? "exec" : selectForManualCopy(node));
    }
    return Promise.resolve(legacyCopy(text) ? "exec" : selectForManualCopy(node));
  }

  function clipboardAllowed() {
    // A cross-origin iframe without allow="clipboard-write" would reject writeText.
    const policy = document.permissionsPolicy || document.featurePolicy;
    if (!policy || typeof policy.allowsFeature !== "function") return true;
    try {
      return policy.allowsFeature("clipboard-write");
    } catch (_) {
      return true;
    }
  }

  function legacyCopy(text) {
    const active = document.activeElement;
    const buffer = h("textarea", { class: "kp-copybuf", readonly: true, "aria-hidden": "true", tabindex: "-1" });
    buffer.value = text;
    document.body.append(buffer);
    let ok = false;
    try {
      buffer.focus({ preventScroll: true });
      buffer.select();
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
    buffer.remove();
    if (active && typeof active.focus === "function") active.focus({ preventScroll: true });
    return ok;
  }

  function selectForManualCopy(node) {
    if (node && node.tagName === "TEXTAREA" && !node.hidden) {
      node.focus();
      node.select();
    } else if (node) {
      const range = document.createRange();
      range.selectNodeContents(node);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    return "manual";
  }

  function reportCopy(how, okText) {
    debug.lastCopy = how;
    el.toast.dataset.method = how;
    if (how === "manual") toast("无法自动复制，请按 Ctrl+C", "warn", 6000);
    else toast(okText || "已复制", "ok");
  }

  function accept(index, byKey) {
    const item = state.drafts[index];
    if (!item || !onScreen(item) || stale()) return;
    currentText(item);
    refill(item);
    const text = item.text;
    if (!text.trim()) {
      // Nothing to send: the API refuses an empty edit, and the clipboard would hold blanks.
      toast("这条草稿已被清空，没有复制；请先写好回复", "warn");
      return;
    }
    select(index, { scroll: byKey });
    // A 【请填写…】 left in the text would reach the customer: the first try puts the caret on
    // it in the editor instead, and only the same text accepted again is copied as it is.
    const blank = firstBlank(text);
    // A second key press within half a second is one press repeated, not a decision (as the
    // second click of a double click is): it points at the blank again.
    const hasty = byKey && performance.now() - (item.askedAt || 0) < AGAIN_MS;
    if (blank && (item.confirmed !== text || hasty)) {
      askToFill(item, blank);
      return;
    }
    const node = item.editor.hidden ? item.textNode : item.editor;
    const copying = copyText(text, node);  // first, while the gesture is fresh
    // The reply sent for this message (the last one copied): the next message's earlier turns.
    state.exchange = { message: state.message, reply: text };
    copying.then((how) => reportCopy(how, `已复制草稿 ${index + 1}${item.edited ? "（已编辑）" : ""}`));
    item.card.classList.add("kp-accepted");
    // A record that failed is said with the copy, after its toast: 反馈未能保存 alone (the
    // server out of reach) replaced 已复制 at once, and the agent took the draft for not copied.
    const unsaved = (why) => copying.then((how) => toast(how === "manual"
      ? `无法自动复制，请按 Ctrl+C；${why}` : `草稿 ${index + 1} 已复制，但${why}`, "error", 6000));
    if (item.edited) sendFeedback("edit", index + 1, text, null, false, unsaved);
    else sendFeedback("accept", index + 1, null, null, false, unsaved);
    const entry = entryOf(item.data);
    if (entry != null) {
      state.used.add(entry);
      state.pending = state.pending.filter((p) => p.entry !== entry);
      state.drafts.filter((other) => entryOf(other.data) === entry).forEach((other) => keepFromRejecting(other));
    } else if (!isOff(item.rejectBtn)) {
      // A holding line or a clarifying question used: the server refuses 没帮助 on it (409),
      // which the button offered only to fail with an error.
      keepFromRejecting(item, "已采用这条草稿：不再记为没帮助");
    }
  }

  /** The first 【请填写…】 placeholder of `text`: {start, end, text} (UTF-16 offsets), or null. */
  function firstBlank(text) {
    const m = new RegExp(PLACEHOLDER.source).exec(text);
    return m ? { start: m.index, end: m.index + m[0].length, text: m[0] } : null;
  }

  /** Where each code point of `text` starts, in UTF-16 units, and its length last: the
   * server counts code points (a flag's or a slot's start and end); JavaScript strings count
   * UTF-16 units (𠀀 is two). */
  function codeUnits(text) {
    const units = [0];
    for (const ch of text) units.push(units[units.length - 1] + ch.length);
    return units;
  }

  /** The blanks of draft `d` and the variables they stand for: [[【請填寫訂單號】, 订单号], …],
   * from its slots, and from its text: the server lists a draft's missing variables (in
   * simplified script) in the order their placeholders (in the customer's script) first
   * appear in its text (none taken from there when they differ). With them, each one's
   * blank in the other script (`forms`, the suggestion's panel.blanks: {blank: variable}):
   * the panel has no OpenCC to tell that 【請填寫訂單號】, typed or pasted into a
   * simplified draft, is 订单号's. */
  function blanksOf(d, forms) {
    const known = [];
    for (const slot of slotsOf(d)) knowBlank(known, [slot.blank, slot.variable]);
    const names = Array.isArray(d.missing_variables) ? d.missing_variables : [];
    const found = [...new Set(typeof d.text === "string" ? d.text.match(PLACEHOLDER) || [] : [])];
    if (found.length === names.length) found.forEach((blank, i) => knowBlank(known, [blank, String(names[i])]));
    for (const [blank, name] of Object.entries(forms || {})) {
      if (typeof name === "string" && isBlank(blank) && known.some(([, variable]) => variable === name)) {
        knowBlank(known, [blank, name]);
      }
    }
    return known;
  }

  function knowBlank(known, pair) {
    if (!known.some(([blank]) => blank === pair[0])) known.push(pair);
  }

  /** Draft `d`'s slots (suggest/draft.py's Slot) in UTF-16 units: [{start, end, blank,
   * variable, fallback}] (fallback: null for a variable without one), in order; none when any is out of place (a value could be taken for the
   * agent's words or the other way round): on another variable's blank, unless that is the
   * value filled in above (【请填写运单号】 typed into 订单号's box). */
  function slotsOf(d) {
    const text = typeof d.text === "string" ? d.text : "";
    const given = Array.isArray(d.slots) ? d.slots : [];
    const values = filledValues();
    const units = codeUnits(text);
    const out = [];
    for (const f of given) {
      const last = out.length ? out[out.length - 1].end : 0;
      if (!f || !Number.isInteger(f.start) || !Number.isInteger(f.end) || f.start < 0 || f.end < f.start
          || f.end >= units.length || typeof f.variable !== "string" || typeof f.blank !== "string"
          || !isBlank(f.blank) || f.fallback != null && typeof f.fallback !== "string" || units[f.start] < last) return [];
      const shown = text.slice(units[f.start], units[f.end]);
      if (isBlank(shown) && shown !== f.blank && shown !== values[f.variable]) return [];
      out.push({ start: units[f.start], end: units[f.end], blank: f.blank, variable: f.variable,
        fallback: typeof f.fallback === "string" ? f.fallback : null });
    }
    return out;
  }

  // A card's text is kept as segments, {text, slot}: the text as shown, cut where a variable
  // of the draft stands (slot: [blank, name], or [blank, name, fallback] for one written
  // with a fallback), shown as its value when one is filled in above and as its fallback,
  // else the blank itself, when not. An edited text is carried to the next render as its
  // template (templateOf) and filled again there (fillIn): filled in once, a value typed key
  // by key left its first digits in the text and no blank for the rest (订单2), and a value
  // corrected or emptied above never reached the edited draft. The server says where its
  // values stand (the draft's slots): a value filled in before the agent edited the draft
  // had become the agent's words, and kept its old number when corrected above.

  /** `text` in segments: draft `d`'s slots where `text` is the draft's own, and the blanks
   * in `known` ([blank, name], blanksOf) wherever `text` holds one. */
  function segmentsOf(text, d, known) {
    const out = [];
    let pos = 0;
    if (text === d.text) {
      for (const slot of slotsOf(d)) {
        if (slot.start > pos) out.push({ text: text.slice(pos, slot.start), slot: null });
        const part = slot.fallback === null ? [slot.blank, slot.variable] : [slot.blank, slot.variable, slot.fallback];
        out.push({ text: text.slice(slot.start, slot.end), slot: part });
        pos = slot.end;
      }
    }
    if (pos < text.length) out.push({ text: text.slice(pos), slot: null });
    return withBlanks(out, known);
  }

  /** `segments` with each blank of `known` that their words hold made a slot: one retyped
   * by hand or brought back by undo is filled in from above again. */
  function withBlanks(segments, known) {
    const out = [];
    for (const part of segments) {
      if (part.slot) {
        out.push(part);
        continue;
      }
      let pos = 0;
      for (const m of part.text.matchAll(PLACEHOLDER)) {
        const slot = blankOf(known, m[0]);
        if (!slot) continue;
        if (m.index > pos) out.push({ text: part.text.slice(pos, m.index), slot: null });
        out.push({ text: m[0], slot });
        pos = m.index + m[0].length;
      }
      if (pos < part.text.length) out.push({ text: part.text.slice(pos), slot: null });
    }
    return out;
  }

  /** The slot [blank, name] of the blank `blank` typed in an editor, when it is one of
   * `known`'s in either script: an agent typing simplified 【请填写订单号】 into a
   * traditional draft, whose blank is 【請填寫訂單號】, means the same variable (the other
   * way round, `known` holds the traditional forms the server named: blanksOf). It keeps
   * the blank as typed, shown while no value is filled in. */
  function blankOf(known, blank) {
    const name = blankName(blank);
    const pair = known.find(([b, variable]) => b === blank || blankName(b) === name || variable === name);
    return pair ? [blank, pair[1]] : null;
  }

  /** The name in blank `blank` (【請填寫訂單號】: 訂單號). */
  function blankName(blank) {
    return blank.replace(/^【(?:请填写|請填寫)/, "").replace(/】$/, "");
  }

  /** A card's text as a template: its words (strings) and its slots ([blank, name] or
   * [blank, name, fallback]). */
  function templateOf(item) {
    return item.segments.map((part) => part.slot || part.text);
  }

  function isPart(part) {
    return typeof part === "string"
      || Array.isArray(part) && (part.length === 2 || part.length === 3 && typeof part[2] === "string")
        && typeof part[1] === "string" && typeof part[0] === "string" && isBlank(part[0]);
  }

  /** A template's segments with the values known now: the one filled in above (braces
   * written full-width, as suggest/draft.py's literal_values writes the server's), else the
   * one draft `d` holds in its slot for that variable (the server fills some in itself: an
   * order number from the customer's message, a shared product's name, which have no box
   * above); with neither, its fallback, else its blank. */
  function fillIn(template, d) {
    const given = filledValues();
    const held = {};
    for (const slot of slotsOf(d)) {
      const shown = d.text.slice(slot.start, slot.end);
      // (a fallback shown is no value: 这款 of {商品名||这款} is not what {商品名} holds)
      if (shown && !isBlank(shown) && shown !== slot.fallback && !(slot.variable in held)) held[slot.variable] = shown;
    }
    return template.map((part) => {
      if (typeof part === "string") return { text: part, slot: null };
      const value = given[part[1]] ? given[part[1]].replace(/{/g, "｛").replace(/}/g, "｝") : held[part[1]];
      return { text: value || withoutValue(part), slot: part };
    });
  }

  /** Fill item's slots that show no value (unfilled) with the values known now (fillIn): a blank
   * typed back or undone while the box above holds a value waited for the next render, its
   * 待填写 line shown and copying stopped on it. Called as the editor closes and before a
   * copy, never as the agent types (the text would change under the caret); an open
   * editor's text follows, its selection kept on the same words, and so does a closed
   * card's: a copy sends what the card shows. A card not edited is the server's draft for
   * the values it was asked with: filled from a newer value, it was copied and recorded as
   * an edit the agent never made. */
  function refill(item) {
    if (!item.edited) return;
    const now = fillIn(templateOf(item), item.data);
    const segments = item.segments.map((part, i) => (unfilled(part) ? now[i] : part));
    const text = segments.map((part) => part.text).join("");
    if (text === item.text) return;
    if (!item.editor.hidden) {
      const focused = document.activeElement === item.editor;
      const [start, end] = [item.editor.selectionStart, item.editor.selectionEnd]
        .map((at) => movedWith(item.segments, segments, at));
      item.editor.value = text;
      item.editor.setSelectionRange(start, end);
      if (focused) item.editor.focus({ preventScroll: true });
      fitEditor(item.editor);
    }
    item.segments = segments;
    if (!item.editor.hidden) remember(item, text);
    item.text = text;
    item.edited = text !== item.original;
    item.editedMark.hidden = !item.edited;
    if (item.editor.hidden) item.textNode.replaceChildren(...highlighted(text, item.edited ? [] : item.data.flags));
    showBlanks(item);
  }

  /** What slot `slot` shows without a value: its fallback, else its blank. */
  function withoutValue(slot) {
    return slot.length > 2 ? slot[2] : slot[0];
  }

  /** Whether segment `part` is a slot showing no value (its blank, or its fallback). */
  function unfilled(part) {
    return !!part.slot && (part.text === part.slot[0] || part.text === withoutValue(part.slot));
  }

  /** Remember the segments of the text `text` an open editor holds (currentText). Bounded
   * by their size, not their count: each input event is a text, and the last 100 were 20-30
   * characters typed through an IME, after which a value undone came back as the agent's
   * words. The text the editor opened with, undone to last, is never forgotten. */
  function remember(item, text) {
    if (item.seen.has(text)) item.seen.delete(text);
    else item.seenUnits += text.length;
    item.seen.set(text, item.segments);
    for (const old of item.seen.keys()) {
      if (item.seenUnits <= SEEN_UNITS) break;
      if (old === item.opened || old === text) continue;
      item.seen.delete(old);
      item.seenUnits -= old.length;
    }
  }

  /** Offset `at` of the text of segments `before` in the text of `after` (the same parts,
   * some of them with another text): within a changed part, no further than its end. */
  function movedWith(before, after, at) {
    let from = 0;
    let to = 0;
    for (let i = 0; i < before.length; i++) {
      if (at < from + before[i].text.length) return to + Math.min(at - from, after[i].text.length);
      from += before[i].text.length;
      to += after[i].text.length;
    }
    return to + at - from;
  }

  /** `segments` after the agent changed their text to `text` in the editor (the caret at
   * `caret`, where known): a slot typed into or over becomes the agent's words; the others,
   * before and after the change, stay slots. */
  function retyped(segments, text, caret) {
    const old = segments.map((part) => part.text).join("");
    // The change ends at the caret: "1" typed after a value ending in 1 is not in the value.
    let most = Math.min(old.length, text.length);
    if (Number.isInteger(caret)) most = Math.min(most, Math.max(0, caret - Math.max(0, text.length - old.length)));
    let start = 0;
    while (start < most && old[start] === text[start]) start += 1;
    let tail = 0;
    while (tail < old.length - start && tail < text.length - start
           && old[old.length - 1 - tail] === text[text.length - 1 - tail]) tail += 1;
    const end = old.length - tail;  // old[start, end) is now text[start, text.length - tail)
    const before = [];
    const after = [];
    let lo = start;
    let hi = end;
    let pos = 0;
    for (const part of segments) {
      const from = pos;
      pos += part.text.length;
      if (pos <= start) before.push(part);
      else if (from >= end) after.push(part);
      else {
        lo = Math.min(lo, from);
        hi = Math.max(hi, pos);
      }
    }
    const words = { text: old.slice(lo, start) + text.slice(start, text.length - tail) + old.slice(end, hi), slot: null };
    const out = [];
    for (const part of [...before, words, ...after]) {
      const last = out[out.length - 1];
      if (!part.slot && !part.text) continue;
      if (!part.slot && last && !last.slot) out[out.length - 1] = { text: last.text + part.text, slot: null };
      else out.push(part);
    }
    return out;
  }

  /** Whether `text` is one whole 【请填写…】 placeholder. */
  function isBlank(text) {
    const blank = firstBlank(text);
    return !!blank && blank.start === 0 && blank.end === text.length;
  }

  function selectedText(box) {
    return box.value.slice(box.selectionStart, box.selectionEnd);
  }

  /** The missing-variables line of a card, shown while its text still holds a placeholder. */
  function showBlanks(item) {
    const blank = !!firstBlank(item.text);
    item.card.classList.toggle("kp-has-blanks", blank);
    // The variables whose blanks the text still holds: one typed over in the editor, or
    // filled in above, is done; one emptied above is back. Any other blank is named as
    // written: the line was hidden while copying stopped on it.
    const left = item.segments.flatMap((part) => (part.slot && part.text === part.slot[0] ? [part.slot[1]]
      : (part.text.match(PLACEHOLDER) || []).map(blankName)));
    // Not emptied with the line hidden: that change to the page, between two keys, ended
    // Chromium's typing run, and Ctrl+Z then undid the last key alone (订单12 to 订单1).
    const names = [...new Set(left)].join("、");
    if (names && item.missingNames.textContent !== names) item.missingNames.textContent = names;
    const shown = blank && !!item.missingNames.textContent;
    item.missing.hidden = !shown;
    // Focusing a card (↑/↓) reads its label, 草稿 1：温和, then this: the draft and its blanks.
    const said = [item.textNode.id];
    if (shown) said.push(item.missing.id);
    item.card.setAttribute("aria-describedby", said.join(" "));
  }

  /** Accepting a draft that still holds a placeholder: open its editor with the placeholder
   * selected, so typing replaces it, and say so; accepting the same text again copies it. */
  function askToFill(item, blank) {
    if (item.editor.hidden) openEditor(item, false);
    item.editor.focus({ preventScroll: true });
    item.editor.setSelectionRange(blank.start, blank.end);
    item.confirmed = item.editor.value;
    item.askedAt = performance.now();
    toast(`草稿 ${item.index + 1} 还有待填写的${blank.text}，没有复制：已选中它，直接输入即可替换`
      + "（或在上方“填写变量”中填写）。确实要原样复制，请按 Ctrl+Enter 或再点“采用并复制”。", "warn", 8000);
  }

  /** Whether draft `item` is on the screen: an error shown in place of the drafts
   * (showError) keeps them in state, so edits come back with the next answer for the same
   * text, but one not shown must not be copied or recorded by a shortcut. */
  function onScreen(item) {
    return !!item && el.results.contains(item.card);
  }

  /** The one entry a draft answers, as the feedback log counts it: none for a clarifying
   * or confirming question or a two-answer draft. */
  function entryOf(d) {
    const ids = Array.isArray(d.entry_ids) ? d.entry_ids : [];
    return ids.length === 1 && d.style !== "clarify" && d.style !== "confirm" ? ids[0] : null;
  }

  /** A feedback button already used: it refuses presses but keeps the keyboard focus (a
   * disabled button drops it to the page's start) and is announced as unavailable. */
  function turnOff(button) {
    button.setAttribute("aria-disabled", "true");
  }

  function isOff(button) {
    return button.getAttribute("aria-disabled") === "true";
  }

  function markRejected(item) {
    item.card.classList.add("kp-rejected");
    turnOff(item.rejectBtn);
    item.rejectBtn.textContent = "已反馈";
  }

  /** A draft of an entry the agent used: 没帮助 would record that entry as a wrong answer. */
  function keepFromRejecting(item, why) {
    item.card.classList.remove("kp-rejected");
    turnOff(item.rejectBtn);
    item.rejectBtn.textContent = "没帮助";
    item.rejectBtn.title = why || "已采用同一条目的草稿：不再记为答案没帮助";
  }

  /** 没帮助. The log records a reject against the draft's entry, and the warm and concise
   * drafts share one: rejecting the concise wording and then using the warm one would count
   * as both a wrong and a right answer (the gaps page would then ask for a new entry). So a
   * reject of an entry's draft waits until the agent moves on to another message (or leaves
   * the page) and is dropped if a draft of the same entry was used meanwhile. */
  function reject(item) {
    if (isOff(item.rejectBtn) || stale()) return;
    const entry = entryOf(item.data);
    const s = state.suggestion;
    if (entry == null || !s || !s.suggestion_id) {
      sendFeedback("reject", item.index + 1, null).then((ok) => { if (ok) markRejected(item); });
      return;
    }
    if (state.used.has(entry)) return;
    state.pending.push({ suggestion: s.suggestion_id, draft: item.index + 1, entry, agent: state.agent });
    markRejected(item);
  }

  /** The message is done with: send the rejects it still holds, and forget what was used. */
  function leaveMessage(unloading) {
    const pending = state.pending;
    state.pending = [];
    state.used = new Set();
    return Promise.all(pending.map((p) => sendFeedback("reject", p.draft, null, p, unloading)));
  }

  /** Record what the agent did; the same action on the same draft is recorded once.
   * `held`: a reject held back by reject() (its own suggestion and agent); `unsaved`, when
   * given, says why it was not recorded instead of the toast (accept: with the copy's). */
  async function sendFeedback(action, draft, text, held, unloading, unsaved) {
    const sid = held ? held.suggestion : state.suggestion && state.suggestion.suggestion_id;
    if (!sid) return false;
    const key = [sid, action, draft, text || ""].join("\u0000");
    if (state.sent.has(key)) return true;
    state.sent.add(key);
    const body = { suggestion_id: sid, action };
    if (draft != null) body.draft = draft;
    if (text) body.text = text;
    // One token serves the whole team: naming the agent lets learning count different agents.
    const agent = held ? held.agent : state.agent;
    if (agent) body.agent = agent;
    const sending = post(cfg.feedback_url, body, undefined, unloading);
    state.sending.add(sending);
    try {
      await sending;
      return true;
    } catch (err) {
      state.sent.delete(key);
      if (err.status === 400 && err.field === "draft" && !held) archived(action, draft);
      else if (err.status === 401) keepFeedback(body);  // the draft was copied: record it after logging in
      else {
        // A 409 on a draft used is a 没帮助 recorded for it before (the one kind of draft
        // whose 没帮助 is sent at once: a holding line, a clarifying question); the general
        // 与已采用的草稿矛盾 said the opposite.
        const why = err.status === 409 && (action === "accept" || action === "edit")
          ? "这条草稿已记为没帮助，这次采用没有记录。" : failureText(err);
        if (unsaved) unsaved(`反馈未能保存：${why}`);
        else toast(`反馈未能保存：${why}`, "error", 5000);
      }
      return false;
    } finally {
      state.sending.delete(sending);
    }
  }

  /** An editor archived the entry of a draft on the screen: the copied text may be wrong
   * now (why it was archived), so say not to send it, and ask for suggestions again. */
  function archived(action, draft) {
    const text = action === "accept" || action === "edit"
      ? `请不要发送刚复制的草稿 ${draft}：它的条目刚被归档，内容可能已不适用。已重新查找建议。`
      : "这条草稿的条目刚被归档，这次反馈没有记录。已重新查找建议。";
    state.warning = { message: state.message, text };
    toast(text, "error", 6000);
    if (el.message.value.trim()) schedule(true);
  }

  // -- keyboard -----------------------------------------------------------------------------
  function digitOf(e) {
    const m = /^(?:Digit|Numpad)([1-9])$/.exec(e.code || "");
    if (m) return Number(m[1]);
    return /^[1-9]$/.test(e.key) ? Number(e.key) : 0;
  }

  function isTyping(node) {
    return !!node && (node.isContentEditable || /^(TEXTAREA|INPUT|SELECT)$/.test(node.tagName));
  }

  function onKeydown(e) {
    const shown = onScreen(state.drafts[0]);
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      const n = digitOf(e);
      if (n >= 1 && n <= MAX_DRAFTS && shown && state.drafts[n - 1]) {
        e.preventDefault();
        if (!e.repeat) accept(n - 1, true);  // a held key must not confirm a draft with blanks
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const target = e.target;
    // The hint's "Esc 切换消息/草稿" from any box of the form: a value just filled in, or the
    // 最近对话 just pasted, left the keyboard with no way back but Tab after Tab.
    if (e.key === "Escape" && shown && isTyping(target) && el.form.contains(target)) {
      e.preventDefault();
      // Drafts still coming for what was just typed: the card focused now is about to be
      // replaced, and the focus would fall to the page; render focuses the new one.
      state.escaped = el.results.getAttribute("aria-busy") === "true";
      select(Math.max(state.selected, 0), { focus: true, scroll: true });
      return;
    }
    if (isTyping(target)) return;
    // And back: from a draft (its card or a button) to the message box, for the next
    // customer's message, where Shift+Tab went back through every button above the card.
    if (e.key === "Escape" && el.results.contains(target) && !el.form.hidden) {
      e.preventDefault();
      el.message.focus();
      return;
    }
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!shown) return;
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      const from = state.selected < 0 ? (step > 0 ? -1 : state.drafts.length) : state.selected;
      select(Math.max(0, Math.min(state.drafts.length - 1, from + step)), { focus: true, scroll: true });
    } else if (e.key === "Enter" && shown && state.selected >= 0) {
      // A focused button, link or summary keeps its own Enter.
      if (target.closest && target.closest("button, a, summary")) return;
      e.preventDefault();
      accept(state.selected, true);
    }
  }

  // -- Chatwoot Dashboard App ----------------------------------------------------------------
  function normOrigin(value) {
    try {
      return new URL(String(value)).origin;
    } catch (_) {
      return "";
    }
  }

  function requestContext() {
    if (inFrame) window.parent.postMessage(FETCH_INFO, "*");  // carries no data
  }

  function onMessage(event) {
    if (!inFrame || event.source !== window.parent || !allowedOrigins.has(event.origin)) {
      debug.ignoredMessages += 1;
      return;
    }
    let data = event.data;
    if (typeof data === "string") {
      try {
        data = JSON.parse(data);
      } catch (_) {
        return;
      }
    }
    if (!data || typeof data !== "object" || data.event !== "appContext") return;
    applyContext(data.data || {});
  }

  function roleOf(m) {
    const t = m.message_type;
    if (t === 0 || t === "0" || t === "incoming") return "customer";
    if (t === 1 || t === "1" || t === "outgoing") return "agent";
    return null;  // activity (2) and template (3) messages
  }

  function timeOf(m) {
    const t = m.created_at;
    if (typeof t === "number") return t;
    const n = Number(t);
    if (t != null && t !== "" && !Number.isNaN(n)) return n;
    const d = Date.parse(t);
    return Number.isNaN(d) ? 0 : d / 1000;
  }

  function oneLine(text) {
    return text.replace(/\s*\n+\s*/g, " ").trim();
  }

  /** A stable name for Chatwoot's current agent: the id (kept across renames), else the
   *  e-mail; null when neither fits what /api/feedback accepts (≤ 64 characters, no "/"). */
  function agentOf(ctx) {
    const a = ctx.currentAgent && typeof ctx.currentAgent === "object" ? ctx.currentAgent : {};
    for (const v of [a.id, a.email]) {
      if (!(typeof v === "number" && Number.isFinite(v)) && typeof v !== "string") continue;
      const s = String(v).trim();
      if (s && s.length <= 64 && !s.includes("/")) return s;
    }
    return null;
  }

  function applyContext(ctx) {
    if (!state.headers) return;
    debug.contexts += 1;
    state.agent = agentOf(ctx);
    const conv = ctx.conversation && typeof ctx.conversation === "object" ? ctx.conversation : {};
    const messages = (Array.isArray(conv.messages) ? conv.messages : [])
      .map((m, i) => ({ m, i }))
      .filter(({ m }) => m && typeof m === "object" && !m.private && roleOf(m)
        && typeof m.content === "string" && m.content.trim())
      .sort((a, b) => timeOf(a.m) - timeOf(b.m) || a.i - b.i)
      .map(({ m }) => ({ role: roleOf(m), text: m.content.trim() }));
    let last = -1;
    messages.forEach((m, i) => { if (m.role === "customer") last = i; });

    const contact = ctx.contact && typeof ctx.contact === "object" ? ctx.contact : {};
    const who = [typeof contact.name === "string" && contact.name ? contact.name : null,
      conv.id != null ? `会话 #${conv.id}` : null].filter(Boolean).join(" · ");
    const another = conv.id !== state.conversation;
    // Chatwoot sends the conversation itself, the replies sent included.
    state.exchange = null;
    showKept(false);
    if (another) {
      state.conversation = conv.id;
      resetValues();
    }
    el.source.hidden = false;
    if (last < 0) {
      el.source.textContent = `Chatwoot${who ? `：${who}` : ""} · 还没有客户消息`;
      if (another) {
        // Nothing to answer yet: the last conversation's message, history and drafts are
        // another customer's, not to be copied into this one.
        el.message.value = el.context.value = state.text = "";
        updateContextCount();
        state.warning = null;
        state.typed = false;
        run();  // an empty message: drops any request in flight and clears the results
      }
      return;
    }
    el.source.textContent = `来自 Chatwoot${who ? `：${who}` : ""}`;
    el.message.value = state.text = messages[last].text;
    state.typed = false;
    const earlier = messages.slice(Math.max(0, last - CONTEXT_TURNS), last);
    el.context.value = earlier.map((m) => `${m.role === "agent" ? "客服" : "客户"}：${oneLine(m.text)}`).join("\n");
    updateContextCount();
    state.inputAt = performance.now();
    run();
  }

  function updateContextCount() {
    const n = parseContext(el.context.value).length;
    el.contextCount.textContent = n ? `（${n} 句）` : "";
  }

  /** The message box changed by the agent: another customer's message (the box emptied,
   * or replaced as a whole) starts without the last one's values. */
  function messageChanged() {
    const before = state.text;
    const now = el.message.value;
    state.text = now;
    const another = state.replacing || !continues(before, now);
    if (!now.trim()) {
      resetValues();
      el.source.hidden = true;
    } else if (another) {
      resetValues();  // the last customer's 订单号 is not this one's
    }
    state.replacing = false;
    // After a reply was copied: the next customer message (also one typed into the box
    // emptied meanwhile) has that exchange before it. The same message pasted again is not
    // the next one, nor is the message corrected or typed on.
    const x = state.exchange;
    if (x && now.trim() && now.trim() !== x.message.trim() && (another || !continues(x.message, now))) keepExchange();
  }

  /** Add the exchange the agent last copied a reply for to 最近对话, in its line format
   * (客户：… 客服：…), so the next message is read mid-conversation: without it every pasted
   * message counted as the first (a greeting again, a vague follow-up read alone). */
  function keepExchange() {
    const { message, reply } = state.exchange;
    state.exchange = null;
    const lines = el.context.value.split(/\r?\n/);
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    lines.push(`客户：${oneLine(message)}`, `客服：${oneLine(reply)}`);
    el.context.value = withinLimit(lines).join("\n");
    updateContextCount();
    showKept(true);
  }

  /** `lines` with the oldest dropped, whole, until they fit what the server accepts; a
   * last line too long alone keeps its end (the latest words) after its prefix. */
  function withinLimit(lines) {
    let size = lines.reduce((n, line) => n + line.length + 1, 0);
    while (size > TEXT_LIMIT && lines.length > 1) size -= lines.shift().length + 1;
    if (size > TEXT_LIMIT) {
      const m = ROLE_PREFIX.exec(lines[0]);
      const prefix = m ? m[0] : "";
      const end = lines[0].slice(lines[0].length - (TEXT_LIMIT - prefix.length - 1));
      lines[0] = prefix + end.replace(/^[\udc00-\udfff]/, "");  // not half a character
    }
    return lines;
  }

  /** The note by 最近对话 saying the panel added the last exchange to it. */
  function showKept(on) {
    el.contextNote.hidden = !on;
  }

  /** 新会话: the next customer starts with nothing of the last one's (message, context,
   * values); rejects still held for the last message are sent. */
  function newConversation() {
    el.message.value = el.context.value = state.text = "";
    el.contextBox.open = false;
    updateContextCount();
    state.exchange = null;  // the last customer's reply is not this one's
    showKept(false);
    resetValues();
    state.warning = null;
    state.typed = false;
    el.source.hidden = true;
    run();  // an empty message: drops any request in flight and clears the results
    el.message.focus();
  }

  // -- start -----------------------------------------------------------------------------------
  el.form.addEventListener("submit", (e) => e.preventDefault());
  // Whether the next input replaces the whole message (select all, then paste or type).
  el.message.addEventListener("beforeinput", () => {
    const box = el.message;
    // Only set here: pinyin composition fires several, the later ones over its own text.
    if (box.value.length && box.selectionStart === 0 && box.selectionEnd === box.value.length) state.replacing = true;
  });
  el.message.addEventListener("input", (e) => {
    if (e.isComposing) return;  // pinyin still being composed: wait for compositionend
    messageChanged();
    const whole = e.inputType === "insertFromPaste" || e.inputType === "insertFromDrop";
    state.typed = !whole;
    schedule(whole);
  });
  el.message.addEventListener("compositionend", () => {
    messageChanged();
    state.typed = true;
    schedule(false);
  });
  el.context.addEventListener("input", () => {
    updateContextCount();
    showKept(false);
    if (el.message.value.trim()) schedule(false);
  });
  el.refresh.addEventListener("click", requestContext);
  el.newConversation.addEventListener("click", newConversation);
  if (el.logout) {
    // 退出 ends the login the panel's feedback is sent with: held rejects and feedback on
    // its way are sent first (for up to 3 s), or they would reach the server logged out.
    let leaving = false;
    el.logout.addEventListener("submit", (e) => {
      e.preventDefault();
      if (leaving) return;
      leaving = true;
      const sends = [leaveMessage(false), ...state.sending].map((p) => p.catch(() => null));
      const wait = new Promise((resolve) => { setTimeout(resolve, 3000); });
      Promise.race([Promise.all(sends), wait]).then(() => {
        try {
          sessionStorage.removeItem(SAVED);  // after the sends: a refused one saves what was typed
        } catch (_) {
          // storage disabled: nothing was kept
        }
        el.logout.submit();
      });
    });
  }
  document.addEventListener("keydown", onKeydown);
  // A click after an Esc says where the agent is now: the drafts that come take no focus.
  document.addEventListener("pointerdown", () => { state.escaped = false; }, true);
  window.addEventListener("message", onMessage);
  window.addEventListener("pagehide", () => leaveMessage(true));
  window.addEventListener("hashchange", () => {
    if (cfg.embedded && setupAuth() && el.message.value.trim()) run();
  });

  if (setupAuth()) {
    if (inFrame) {
      el.refresh.hidden = false;
      if (!allowedOrigins.size) {
        el.source.hidden = false;
        el.source.textContent = "未配置允许的 Chatwoot 地址（KEFU_ALLOWED_ORIGINS），无法自动读取对话";
      }
      requestContext();
    } else if (!cfg.embedded) {
      const sending = resendFeedback();
      const restored = restoreTyped();
      sending.then((sent) => backNote(restored, sent));
      el.message.focus();
    }
  }
})();
