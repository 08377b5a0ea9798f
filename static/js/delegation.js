/* RiskGov delegation: delegate from the connected wallet by transaction (delegate(address), sent by an
   injected EIP-1193 wallet) or by an EIP-712 delegateBySig signature relayed by the server, one-click
   self-delegation, and signed delegate statements. The wallet script (wallet.js) announces the connected
   account and its provider with a "riskgov:wallet" event; the cards hold their URLs in data attributes. */
(function () {
  "use strict";
  const form = document.getElementById("delegate-form");
  const statementForm = document.getElementById("statement-form");
  if (!form && !statementForm) return;
  const $ = (id) => document.getElementById(id);
  const walletCard = document.getElementById("wallet");
  const DELEGATE_SELECTOR = "0x5c19a95c"; // GovToken.delegate(address)
  const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
  let account = null;
  let provider = null;
  let govToken = null;

  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : (walletCard && walletCard.dataset.csrf) || "";
  }
  async function request(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const refusal = data.error || {};
      const error = new Error(refusal.message || "request failed (HTTP " + response.status + ")");
      error.field = refusal.field;
      error.status = response.status;
      throw error;
    }
    return data;
  }
  function postJson(url, body) {
    return request(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    });
  }
  function describe(error) {
    if (error && error.code === 4001) return "you rejected the request in your wallet";
    const text = (error && error.message) || String(error);
    return error && error.field ? error.field + ": " + text : text;
  }
  function short(value) {
    return value ? value.slice(0, 10) + "…" + value.slice(-6) : "";
  }
  function tell(box, text, kind) {
    box.textContent = text;
    box.className = "wallet-message" + (kind ? " wallet-" + kind : "");
    if (kind) box.dataset.state = kind;
  }
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ------------------------------------------------------------------ delegation

  function delegatee() {
    const value = $("delegatee-input").value.trim();
    if (!ADDRESS.test(value)) {
      const error = new Error("enter the address to delegate to (0x and 40 hex digits)");
      error.field = "delegatee";
      throw error;
    }
    return value;
  }

  function refreshButtons() {
    if (!form) return;
    const ready = Boolean(account && provider);
    $("delegate-self").disabled = !ready;
    $("delegate-sig").disabled = !ready;
    // the demo wallet has no transactions of its own beyond self-delegation; it signs instead
    $("delegate-tx").disabled = !ready || Boolean(provider && provider.isDemoWallet);
    if (ready && $("delegate-result").dataset.state === undefined) {
      tell($("delegate-result"), "Delegating from " + account + ".");
    }
  }

  async function sendDelegateTransaction(to) {
    if (!govToken) throw new Error("the governance token address is unknown (no deployment recorded)");
    const data = DELEGATE_SELECTOR + to.slice(2).toLowerCase().padStart(64, "0");
    return provider.request({ method: "eth_sendTransaction", params: [{ from: account, to: govToken, data }] });
  }

  async function delegateByTransaction(to) {
    const box = $("delegate-result");
    try {
      tell(box, "Confirm the transaction in your wallet…");
      const tx = await sendDelegateTransaction(to || delegatee());
      tell(box, "Delegation sent (transaction " + short(tx) + "). It counts once mined and indexed.", "ok");
    } catch (error) {
      tell(box, "Delegation failed: " + describe(error), "error");
    }
  }

  async function delegateToSelf() {
    const box = $("delegate-result");
    try {
      if (provider.isDemoWallet) {
        const { tx_hash } = await postJson(walletCard.dataset.urlDemoDelegate, { address: account });
        tell(box, "Delegated to yourself (transaction " + short(tx_hash) + ").", "ok");
      } else {
        tell(box, "Confirm the transaction in your wallet…");
        const tx = await sendDelegateTransaction(account);
        tell(box, "Delegation to yourself sent (transaction " + short(tx) + ").", "ok");
      }
    } catch (error) {
      tell(box, "Delegation failed: " + describe(error), "error");
    }
  }

  async function delegateBySignature() {
    const box = $("delegate-result");
    try {
      const to = delegatee();
      const query = "?delegator=" + encodeURIComponent(account) + "&delegatee=" + encodeURIComponent(to);
      const typed = await request(form.dataset.urlTypedData + query);
      tell(box, "Sign the delegation in your wallet…");
      const signature = await provider.request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(typed)] });
      let relay = await postJson(form.dataset.urlRelays, {
        delegator: account, delegatee: to, nonce: typed.message.nonce, expiry: typed.message.expiry, signature,
      });
      tell(box, "Signature accepted; the relayer is sending it…");
      for (let i = 0; i < 120 && !relay.finished; i++) {
        await sleep(1000);
        relay = await request(relay.status_url);
      }
      if (relay.status === "succeeded") {
        tell(box, "Relayed: delegated to " + relay.delegatee + " (transaction " + relay.tx_hash + ").", "ok");
      } else if (relay.finished) {
        tell(box, "The relay " + relay.status + ": " + (relay.error || "no reason given"), "error");
      } else {
        tell(box, "The relay is still " + relay.status + "; see the holder page for its outcome.", "warn");
      }
    } catch (error) {
      tell(box, "Delegation refused: " + describe(error), "error");
    }
  }

  // ------------------------------------------------------------------ statements

  function refreshStatement() {
    if (!statementForm) return;
    const mine = Boolean(account) && account.toLowerCase() === statementForm.dataset.address.toLowerCase();
    $("statement-sign").disabled = !mine;
    if (account && !mine) tell($("statement-result"), "Connect the wallet of " + statementForm.dataset.address + " to publish its statement.");
  }

  async function publishStatement() {
    const box = $("statement-result");
    try {
      const text = statementForm.querySelector("textarea[name=statement]").value;
      const typed = await request(statementForm.dataset.urlTypedData);
      typed.message.statement = text;
      typed.message.issuedAt = Math.floor(Date.now() / 1000);
      tell(box, "Sign the statement in your wallet…");
      const signature = await provider.request({ method: "eth_signTypedData_v4", params: [account, JSON.stringify(typed)] });
      const published = await postJson(statementForm.dataset.urlPublish, {
        delegate: account, statement: text, version: typed.message.version, issued_at: typed.message.issuedAt, signature,
      });
      tell(box, "Published version " + published.version + ".", "ok");
      setTimeout(() => window.location.reload(), 600);
    } catch (error) {
      tell(box, "Statement refused: " + describe(error), "error");
    }
  }

  // ------------------------------------------------------------------ wiring

  document.addEventListener("riskgov:wallet", (event) => {
    account = event.detail.account || null;
    provider = event.detail.provider || null;
    refreshButtons();
    refreshStatement();
  });
  if (walletCard) {
    fetch(walletCard.dataset.urlStatus, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((data) => { govToken = data.gov_token || null; })
      .catch(() => {});
  }
  if (form) {
    $("delegate-self").addEventListener("click", delegateToSelf);
    $("delegate-tx").addEventListener("click", () => delegateByTransaction());
    $("delegate-sig").addEventListener("click", delegateBySignature);
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-delegate-to]");
      if (!button) return;
      $("delegatee-input").value = button.dataset.delegateTo;
      form.scrollIntoView({ behavior: "smooth", block: "center" });
      $("delegatee-input").focus();
    });
  }
  if (statementForm) $("statement-sign").addEventListener("click", publishStatement);
})();
