// The local Slack page: renders what the stand-in's state says one user sees, and sends what they
// do to /_local/slack/send, which signs it and hands it to the app as Slack would.
//
// Every string from a message, a view or a name is untrusted. The DOM is built with
// createElement and textContent only; links get an href only for http, https and mailto.
"use strict";

(function () {
  const POLL_MS = 700;
  const SAFE_URL = /^(https?:|mailto:)/i;

  const ui = {
    user: "U0LOCALUSER",
    channel: null,
    thread: null,
    tab: "messages",
    version: null,
    data: null,
    modalKey: null,
    polling: false,
    pollAgain: false,
    // A reload discards the modal this tab showed, as Slack's client does.
    loaded: false,
  };
  const SHOWN_MODAL = "rds-provisioner.shown-modal";

  function shownModal(id) {
    try {
      if (id === undefined) return window.sessionStorage.getItem(SHOWN_MODAL);
      if (id === null) window.sessionStorage.removeItem(SHOWN_MODAL);
      else window.sessionStorage.setItem(SHOWN_MODAL, id);
    } catch (error) {
      return null; // storage off: a reload shows the modal again, nothing worse
    }
    return null;
  }

  // --- DOM helpers ---------------------------------------------------------------------------
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) {
        if (typeof value !== "function") throw new Error("handlers must be functions");
        node.addEventListener(key.slice(2), value);
      } else if (key === "href" || key === "src" || key === "style") {
        throw new Error("use link() for links; no src or style attributes here");
      } else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    const trimmed = url.trim();
    if (!SAFE_URL.test(trimmed) || /[\s\u0000-\u001f]/.test(trimmed)) return null;
    try {
      const parsed = new URL(trimmed);
      return ["http:", "https:", "mailto:"].includes(parsed.protocol) ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  function link(url, children, props) {
    const href = safeUrl(url);
    if (href === null) return h("span", { class: "unlinked" }, children);
    const anchor = h("a", { ...props, target: "_blank", rel: "noopener noreferrer" }, children);
    anchor.href = href;
    return anchor;
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  function userName(id) {
    const users = (ui.data && ui.data.users) || {};
    return users[id] || id;
  }

  function time(ts) {
    const seconds = parseFloat(ts);
    if (!isFinite(seconds)) return "";
    return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // --- mrkdwn nodes (parsed by the server) -> DOM ----------------------------------------------
  function renderNodes(nodes) {
    const out = [];
    for (const node of nodes || []) {
      switch (node.t) {
        case "text":
          out.push(document.createTextNode(node.v));
          break;
        case "b":
          out.push(h("strong", null, renderNodes(node.c)));
          break;
        case "i":
          out.push(h("em", null, renderNodes(node.c)));
          break;
        case "s":
          out.push(h("del", null, renderNodes(node.c)));
          break;
        case "code":
          out.push(h("code", { text: node.v }));
          break;
        case "pre":
          out.push(h("pre", { class: "code-block", text: node.v }));
          break;
        case "quote":
          out.push(h("blockquote", null, renderNodes(node.c)));
          break;
        case "link":
          out.push(link(node.href, renderNodes(node.c)));
          break;
        case "user":
          out.push(h("span", { class: "mention", text: "@" + (node.label || userName(node.id)) }));
          break;
        case "channel":
          out.push(h("span", { class: "mention", text: "#" + (node.label || node.id) }));
          break;
        case "special":
          out.push(h("span", { class: "mention", text: node.v }));
          break;
        case "emoji":
          out.push(
            node.char
              ? h("span", { class: "emoji", title: ":" + node.name + ":", text: node.char })
              : h("span", { class: "emoji-name", text: ":" + node.name + ":" })
          );
          break;
        default:
          if (typeof node.v === "string") out.push(document.createTextNode(node.v));
      }
    }
    return out;
  }

  function renderText(object, extraClass) {
    if (!object) return null;
    const classes = "text" + (extraClass ? " " + extraClass : "");
    if (object.type === "mrkdwn" && Array.isArray(object.nodes)) {
      return h("div", { class: classes + " mrkdwn" }, renderNodes(object.nodes));
    }
    return h("div", { class: classes, text: String(object.text || "") });
  }

  function plain(object) {
    return object && typeof object.text === "string" ? object.text : "";
  }

  // --- Block Kit -> DOM ------------------------------------------------------------------------
  // ctx: {container: {type: "message", channel, ts} | {type: "view", view_id}, modal: form or null}
  function renderBlocks(blocks, ctx) {
    return (blocks || []).map((block) => renderBlock(block, ctx));
  }

  function renderBlock(block, ctx) {
    const props = { class: "block block-" + block.type, dataset: { blockId: block.block_id || "" } };
    switch (block.type) {
      case "section": {
        const main = h("div", { class: "section-main" }, renderText(block.text));
        if (Array.isArray(block.fields)) {
          main.append(h("div", { class: "fields" }, block.fields.map((field) => renderText(field, "field"))));
        }
        const accessory = block.accessory ? renderElement(block.accessory, block, ctx) : null;
        return h("div", props, main, accessory && h("div", { class: "accessory" }, accessory));
      }
      case "context":
        return h(
          "div",
          props,
          (block.elements || []).map((element) =>
            element.type === "image"
              ? h("span", { class: "image-alt", text: "[" + (element.alt_text || "image") + "]" })
              : renderText(element, "context-text"),
          ),
        );
      case "divider":
        return h("hr", props);
      case "header":
        return h("h3", { ...props, text: plain(block.text) });
      case "actions":
        return h("div", props, (block.elements || []).map((element) => renderElement(element, block, ctx)));
      case "input":
        return renderInput(block, ctx, props);
      case "image":
        return h("div", props, h("span", { class: "image-alt", text: "[image: " + (block.alt_text || "") + "]" }));
      default:
        return h("div", { ...props, class: "block unsupported", text: "Unsupported block: " + block.type });
    }
  }

  function renderElement(element, block, ctx) {
    switch (element.type) {
      case "button": {
        const classes = "button" + (element.style ? " " + element.style : "");
        return h("button", {
          type: "button",
          class: classes,
          dataset: { actionId: element.action_id || "" },
          text: plain(element.text),
          onclick: () => {
            const go = () => {
              const url = safeUrl(element.url);
              if (url) window.open(url, "_blank", "noopener,noreferrer");
              act(ctx, block, element, element.value);
            };
            if (element.confirm) confirmThen(element.confirm, go);
            else go();
          },
        });
      }
      case "static_select":
      case "overflow": {
        const select = h(
          "select",
          {
            class: "select",
            dataset: { actionId: element.action_id || "" },
            onchange: (event) => {
              if (event.target.value) act(ctx, block, element, event.target.value);
            },
          },
          h("option", { value: "", text: element.type === "overflow" ? "\u22ef" : plain(element.placeholder) || "Select" }),
          optionsOf(element).map((option) => h("option", { value: option.value, text: plain(option.text) })),
        );
        if (element.initial_option) select.value = element.initial_option.value;
        return select;
      }
      case "image":
        return h("span", { class: "image-alt", text: "[" + (element.alt_text || "image") + "]" });
      default:
        return h("span", { class: "unsupported", text: "Unsupported element: " + element.type });
    }
  }

  function optionsOf(element) {
    const options = [...(element.options || [])];
    for (const group of element.option_groups || []) options.push(...(group.options || []));
    return options;
  }

  function renderInput(block, ctx, props) {
    const element = block.element || {};
    const ids = { blockId: block.block_id || "", actionId: element.action_id || "" };
    let control;
    if (element.type === "plain_text_input") {
      control = element.multiline
        ? h("textarea", { class: "input", rows: 3, dataset: ids, name: block.block_id })
        : h("input", { class: "input", type: "text", dataset: ids, name: block.block_id });
      if (element.placeholder) control.placeholder = plain(element.placeholder);
      if (Number.isInteger(element.max_length)) control.maxLength = element.max_length;
      if (element.initial_value) control.value = element.initial_value;
    } else if (element.type === "static_select") {
      control = h(
        "select",
        { class: "select input", dataset: ids, name: block.block_id },
        h("option", { value: "", text: plain(element.placeholder) || "Select an option" }),
        optionsOf(element).map((option) => h("option", { value: option.value, text: plain(option.text) })),
      );
      if (element.initial_option) control.value = element.initial_option.value;
    } else {
      control = h("span", { class: "unsupported", text: "This local page cannot fill in " + element.type });
    }
    if (!ctx.modal) control.disabled = true;
    const label = h("label", { class: "label" }, plain(block.label), block.optional ? h("span", { class: "optional", text: " (optional)" }) : null);
    return h(
      "div",
      props,
      label,
      control,
      block.hint ? h("div", { class: "hint", text: plain(block.hint) }) : null,
      h("div", { class: "block-error", dataset: { blockId: block.block_id || "" } }),
    );
  }

  function confirmThen(confirm, then) {
    const dialog = h(
      "div",
      { class: "confirm-layer" },
      h(
        "div",
        { class: "confirm", role: "dialog" },
        h("h3", { text: plain(confirm.title) || "Are you sure?" }),
        renderText(confirm.text),
        h(
          "div",
          { class: "buttons" },
          h("button", { type: "button", class: "button", text: plain(confirm.deny) || "Cancel", onclick: () => dialog.remove() }),
          h("button", {
            type: "button",
            class: "button " + (confirm.style === "danger" ? "danger" : "primary"),
            text: plain(confirm.confirm) || "Yes",
            onclick: () => {
              dialog.remove();
              then();
            },
          }),
        ),
      ),
    );
    document.body.append(dialog);
  }

  // --- talking to the local stack ----------------------------------------------------------------
  async function send(payload) {
    try {
      const response = await fetch("/_local/slack/send", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: ui.user, ...payload }),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) toast(answer.message || "The local stack answered HTTP " + response.status);
      else if (answer.status && answer.status !== 200) toast("The app answered HTTP " + answer.status);
      else if (answer.elapsed_ms > 3000) {
        toast("The app took " + (answer.elapsed_ms / 1000).toFixed(1) + " s; Slack gives up after 3 s (operation_timeout)");
      }
      return answer;
    } catch (error) {
      toast("The local stack is not answering (is make run still running?)");
      return {};
    } finally {
      pollNow();
    }
  }

  function act(ctx, block, element, value) {
    const payload = { kind: "action", block_id: block.block_id, action_id: element.action_id, value };
    if (ctx.container.type === "view") {
      payload.view_id = ctx.container.view_id;
      if (ctx.modal) payload.values = collectValues(ctx.modal);
    } else {
      payload.channel = ctx.container.channel;
      payload.ts = ctx.container.ts;
    }
    send(payload);
  }

  function collectValues(form) {
    const values = {};
    for (const control of form.querySelectorAll("[data-block-id][data-action-id]")) {
      if (!("value" in control)) continue;
      const { blockId, actionId } = control.dataset;
      values[blockId] = values[blockId] || {};
      values[blockId][actionId] = control.value === "" ? null : control.value;
    }
    return values;
  }

  async function poll() {
    if (ui.polling) {
      ui.pollAgain = true;
      return;
    }
    ui.polling = true;
    try {
      const since = ui.version === null ? "" : "&since=" + encodeURIComponent(ui.version);
      const response = await fetch("/_local/slack/state.json?user=" + encodeURIComponent(ui.user) + since, { cache: "no-store" });
      if (response.ok) {
        const data = await response.json();
        if (data.me === ui.user) {
          ui.version = data.version;
          if (!ui.loaded) {
            ui.loaded = true;
            if (data.modal && data.modal.id === shownModal()) {
              send({ kind: "close", view_id: data.modal.id });
              data.modal = null;
            }
          }
          ui.data = data;
          render();
        }
        setStatus("");
      } else setStatus("The local stack answered HTTP " + response.status);
    } catch (error) {
      setStatus("Not connected to the local stack; retrying\u2026");
    } finally {
      ui.polling = false;
      if (ui.pollAgain) {
        ui.pollAgain = false;
        poll();
      }
    }
  }

  function pollNow() {
    poll();
  }

  // --- layout ------------------------------------------------------------------------------------
  const layout = {};

  function build() {
    const root = document.getElementById("app");
    layout.userSelect = h("select", { id: "user-select", "aria-label": "Act as", onchange: (e) => switchUser(e.target.value) });
    layout.userInput = h("input", { id: "user-input", type: "text", placeholder: "U0SOMEONE", "aria-label": "Another user id" });
    const userForm = h(
      "form",
      {
        class: "me",
        onsubmit: (event) => {
          event.preventDefault();
          const id = layout.userInput.value.trim().toUpperCase();
          if (/^[UW][A-Z0-9]{1,20}$/.test(id)) {
            layout.userInput.value = "";
            switchUser(id);
          } else toast("A Slack user id starts with U or W, e.g. U0ALICE");
        },
      },
      h("label", { for: "user-select", text: "You are" }),
      layout.userSelect,
      layout.userInput,
      h("button", { type: "submit", class: "button small", text: "Switch" }),
    );
    layout.nav = h("nav", { class: "nav" });
    layout.title = h("h2", { class: "title" });
    layout.tabs = h("div", { class: "tabs" });
    layout.pane = h("section", { id: "pane", class: "pane" });
    layout.composer = h("input", {
      id: "composer",
      type: "text",
      autocomplete: "off",
      "aria-label": "Message",
    });
    layout.composerForm = h(
      "form",
      { class: "composer", onsubmit: onCompose },
      layout.composer,
      h("div", { class: "composer-hint", text: "Type a slash command, e.g. /provision-rds help, and press Enter" }),
    );
    layout.thread = h("aside", { id: "thread-pane", class: "thread-pane", hidden: true });
    layout.modalLayer = h("div", { id: "modal-layer", class: "modal-layer", hidden: true });
    layout.status = h("div", { class: "status", role: "status" });
    layout.toast = h("div", { id: "toast", class: "toast", role: "alert", hidden: true });
    root.append(
      h(
        "div",
        { class: "shell" },
        h(
          "aside",
          { class: "sidebar" },
          h("div", { class: "workspace" }, h("strong", { text: "local" }), h("span", { class: "sub", text: "Slack stand-in of rds-provisioner" })),
          userForm,
          layout.nav,
          layout.status,
        ),
        h("main", { class: "main" }, h("header", { class: "header" }, layout.title, layout.tabs), layout.pane, layout.composerForm),
        layout.thread,
      ),
      layout.modalLayer,
      layout.toast,
    );
  }

  function setStatus(text) {
    layout.status.textContent = text;
  }

  let toastTimer = null;
  function toast(text) {
    layout.toast.textContent = text;
    layout.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (layout.toast.hidden = true), 6000);
  }

  function switchUser(id) {
    if (id === ui.user) return;
    ui.user = id;
    ui.channel = null;
    ui.thread = null;
    ui.tab = "messages";
    ui.version = null;
    ui.data = null;
    ui.modalKey = null;
    try {
      localStorage.setItem("slack-local-user", id);
    } catch (error) {
      /* private mode: the hash still says who */
    }
    saveHash();
    pollNow();
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    let stored = null;
    try {
      stored = localStorage.getItem("slack-local-user");
    } catch (error) {
      stored = null;
    }
    const user = params.get("user") || stored;
    if (user && /^[UW][A-Z0-9]{1,20}$/.test(user)) ui.user = user;
    ui.channel = params.get("channel");
    ui.thread = params.get("thread");
    ui.tab = params.get("tab") === "home" ? "home" : "messages";
  }

  function saveHash() {
    const params = new URLSearchParams();
    params.set("user", ui.user);
    if (ui.channel) params.set("channel", ui.channel);
    if (ui.thread) params.set("thread", ui.thread);
    if (ui.tab === "home") params.set("tab", "home");
    history.replaceState(null, "", "#" + params.toString());
  }

  function appDm() {
    return (ui.data.conversations || []).find((c) => c.is_im && c.user === ui.user);
  }

  function currentConversation() {
    const conversations = ui.data.conversations || [];
    return conversations.find((c) => c.id === ui.channel) || appDm() || conversations[0];
  }

  function selectConversation(id, tab) {
    ui.channel = id;
    ui.thread = null;
    ui.tab = tab || "messages";
    saveHash();
    render();
    if (ui.tab === "home") send({ kind: "home" });
  }

  // --- rendering the state -------------------------------------------------------------------------
  function render() {
    if (!ui.data) return;
    const conversation = currentConversation();
    if (conversation) ui.channel = conversation.id;
    renderUsers();
    renderNav(conversation);
    renderHeader(conversation);
    if (ui.tab === "home" && conversation && conversation.is_im) renderHome();
    else renderMessages(conversation);
    renderThread(conversation);
    renderModal();
  }

  function renderUsers() {
    const ids = new Set(Object.keys(ui.data.users || {}));
    ids.add(ui.user);
    ids.delete(ui.data.bot.id);
    layout.userSelect.replaceChildren(...[...ids].sort().map((id) => h("option", { value: id, text: id })));
    layout.userSelect.value = ui.user;
  }

  function renderNav(current) {
    const item = (conversation, label, tab) =>
      h("button", {
        type: "button",
        class: "nav-item" + (current && conversation.id === current.id && (tab || "messages") === ui.tab ? " active" : ""),
        dataset: { conversation: conversation.id, tab: tab || "messages" },
        text: label,
        onclick: () => selectConversation(conversation.id, tab),
      });
    const conversations = ui.data.conversations || [];
    const dm = appDm();
    const channels = conversations.filter((c) => !c.is_im);
    const entries = [
      h("h4", { text: "App" }),
      dm ? item(dm, ui.data.bot.name + " \u00b7 Home", "home") : null,
      dm ? item(dm, ui.data.bot.name + " \u00b7 Messages") : null,
      h("h4", { text: "Channels" }),
      channels.length ? channels.map((c) => item(c, "# " + c.name)) : h("div", { class: "empty", text: "none yet" }),
    ];
    layout.nav.replaceChildren(...entries.flat().filter(Boolean));
  }

  function renderHeader(conversation) {
    if (!conversation) {
      layout.title.textContent = "";
      return;
    }
    layout.title.textContent = conversation.is_im ? ui.data.bot.name : "# " + conversation.name;
    layout.tabs.replaceChildren();
    if (conversation.is_im) {
      for (const tab of ["home", "messages"]) {
        layout.tabs.append(
          h("button", {
            type: "button",
            class: "tab" + (ui.tab === tab ? " active" : ""),
            dataset: { tab },
            text: tab === "home" ? "Home" : "Messages",
            onclick: () => selectConversation(conversation.id, tab),
          }),
        );
      }
    }
    layout.composerForm.hidden = ui.tab === "home";
    layout.composer.placeholder = "Message " + (conversation.is_im ? ui.data.bot.name : "#" + conversation.name) + " \u2014 try /provision-rds help";
  }

  function topLevel(messages) {
    return messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  }

  function repliesOf(messages, ts) {
    return messages.filter((m) => m.thread_ts === ts && m.ts !== ts);
  }

  function renderMessage(message, conversation, options) {
    const mine = message.user === ui.user;
    const author = mine ? userName(ui.user) : ui.data.bot.name;
    const ctx = { container: { type: "message", channel: conversation.id, ts: message.ts }, modal: null };
    const content = Array.isArray(message.blocks) && message.blocks.length
      ? h("div", { class: "blocks" }, renderBlocks(message.blocks, ctx))
      : h("div", { class: "text mrkdwn" }, renderNodes(message.text_nodes));
    const replies = options.replies || [];
    return h(
      "div",
      { class: "message" + (message.ephemeral ? " ephemeral" : ""), dataset: { ts: message.ts } },
      h("div", { class: "avatar", text: author.slice(0, 1).toUpperCase() }),
      h(
        "div",
        { class: "message-body" },
        h(
          "div",
          { class: "meta" },
          h("span", { class: "author", text: author }),
          message.bot_id ? h("span", { class: "badge", text: "APP" }) : null,
          h("span", { class: "time", text: time(message.ts) }),
          message.edited ? h("span", { class: "edited", text: "(edited)" }) : null,
        ),
        message.ephemeral
          ? h("div", { class: "ephemeral-note" }, "Only visible to you", message.invocation ? h("code", { text: message.invocation }) : null)
          : null,
        content,
        (message.attachments || []).map(renderAttachment),
        options.inThread || !replies.length
          ? null
          : h("button", {
              type: "button",
              class: "thread-link",
              text: plural(replies.length, "reply", "replies"),
              onclick: () => {
                ui.thread = message.ts;
                saveHash();
                render();
              },
            }),
      ),
    );
  }

  function renderAttachment(attachment) {
    return h(
      "div",
      { class: "attachment" },
      attachment.title ? h("strong", null, attachment.title_link ? link(attachment.title_link, attachment.title) : attachment.title) : null,
      h("div", { class: "text", text: attachment.text || attachment.fallback || "" }),
    );
  }

  function renderMessages(conversation) {
    const atBottom = layout.pane.scrollHeight - layout.pane.scrollTop - layout.pane.clientHeight < 40;
    if (!conversation) {
      layout.pane.replaceChildren(h("div", { class: "empty", text: "No conversations yet." }));
      return;
    }
    const messages = ui.data.messages[conversation.id] || [];
    const list = topLevel(messages).map((message) =>
      renderMessage(message, conversation, { replies: repliesOf(messages, message.ts) }),
    );
    layout.pane.replaceChildren(
      h("div", { id: "messages", class: "messages", dataset: { channel: conversation.id } }, list.length ? list : h("div", { class: "empty", text: "No messages yet. Type a slash command below." })),
    );
    if (atBottom || layout.pane.dataset.channel !== conversation.id) layout.pane.scrollTop = layout.pane.scrollHeight;
    layout.pane.dataset.channel = conversation.id;
  }

  function renderHome() {
    const home = ui.data.home;
    const ctx = home ? { container: { type: "view", view_id: home.id }, modal: null } : null;
    layout.pane.replaceChildren(
      h(
        "div",
        { id: "home", class: "home", dataset: { viewId: home ? home.id : "" } },
        home ? renderBlocks(home.blocks, ctx) : h("div", { class: "empty", text: "Opening the app's Home tab\u2026" }),
      ),
    );
  }

  function renderThread(conversation) {
    const messages = conversation ? ui.data.messages[conversation.id] || [] : [];
    const parent = ui.thread && ui.tab === "messages" ? messages.find((m) => m.ts === ui.thread) : null;
    if (!parent) {
      layout.thread.hidden = true;
      layout.thread.replaceChildren();
      return;
    }
    layout.thread.hidden = false;
    layout.thread.replaceChildren(
      h(
        "header",
        { class: "header" },
        h("h2", { class: "title", text: "Thread" }),
        h("button", {
          type: "button",
          class: "close",
          "aria-label": "Close thread",
          text: "\u00d7",
          onclick: () => {
            ui.thread = null;
            saveHash();
            render();
          },
        }),
      ),
      h(
        "div",
        { class: "messages" },
        renderMessage(parent, conversation, { inThread: true }),
        h("div", { class: "reply-count", text: plural(repliesOf(messages, parent.ts).length, "reply", "replies") }),
        repliesOf(messages, parent.ts).map((reply) => renderMessage(reply, conversation, { inThread: true })),
      ),
    );
  }

  function renderModal() {
    const view = ui.data.modal;
    const key = view ? view.id + ":" + view.hash : null;
    if (key === ui.modalKey) return;
    ui.modalKey = key;
    if (!view) {
      shownModal(null);
      layout.modalLayer.hidden = true;
      layout.modalLayer.replaceChildren();
      return;
    }
    shownModal(view.id);
    const form = h("form", { id: "modal", class: "modal", dataset: { viewId: view.id, callbackId: view.callback_id || "" } });
    const general = h("div", { class: "modal-error", role: "alert" });
    const submit = view.submit ? h("button", { type: "submit", class: "button primary modal-submit", text: plain(view.submit) }) : null;
    const close = () => send({ kind: "close", view_id: view.id });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const node of form.querySelectorAll(".block-error")) node.textContent = "";
      general.textContent = "";
      if (submit) submit.disabled = true;
      const answer = await send({ kind: "submit", view_id: view.id, values: collectValues(form) });
      if (submit) submit.disabled = false;
      const errors = answer.errors || {};
      for (const [blockId, message] of Object.entries(errors)) {
        const target = [...form.querySelectorAll(".block-error")].find((node) => node.dataset.blockId === blockId);
        if (target) target.textContent = String(message);
        else general.textContent = String(message);
      }
      if (answer.message) general.textContent = answer.message;
    });
    form.append(
      h(
        "header",
        { class: "modal-header" },
        h("h2", { text: plain(view.title) }),
        h("button", { type: "button", class: "close", "aria-label": "Close", text: "\u00d7", onclick: close }),
      ),
      h("div", { class: "modal-body" }, renderBlocks(view.blocks, { container: { type: "view", view_id: view.id }, modal: form })),
      general,
      h(
        "footer",
        { class: "modal-footer" },
        h("button", { type: "button", class: "button modal-cancel", text: plain(view.close) || "Cancel", onclick: close }),
        submit,
      ),
    );
    layout.modalLayer.replaceChildren(form);
    layout.modalLayer.hidden = false;
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  }

  // --- typing ----------------------------------------------------------------------------------
  async function onCompose(event) {
    event.preventDefault();
    const text = layout.composer.value.trim();
    if (!text) return;
    const conversation = ui.data && currentConversation();
    if (!conversation) return;
    if (!text.startsWith("/")) {
      toast("This app reads slash commands only: try /provision-rds help");
      return;
    }
    layout.composer.value = "";
    layout.composer.disabled = true;
    try {
      await send({ kind: "command", channel: conversation.id, text });
    } finally {
      layout.composer.disabled = false;
      layout.composer.focus();
    }
  }

  function start() {
    build();
    readHash();
    saveHash();
    window.addEventListener("hashchange", () => {
      const before = ui.user;
      readHash();
      if (ui.user !== before) {
        ui.version = null;
        ui.modalKey = null;
      }
      render();
      pollNow();
    });
    const loop = async () => {
      await poll();
      setTimeout(loop, POLL_MS);
    };
    loop();
    if (ui.tab === "home") send({ kind: "home" });
  }

  start();
})();
