/* RiskGov wallet: EIP-1193 connection (window.ethereum or the demo wallet), Sign-In with Ethereum,
   EIP-712 ballots (an ExtendedBallot that signs the reason when one is given), one-click self-delegation and,
   in on-chain mode, the Governor's propose / queue / execute sent from the connected wallet.
   Signed in with the demo wallet, the page reconnects the signed-in account (not dev account 0). No
   framework; the page's #wallet card holds the URLs. */
(function () {
  "use strict";
  const card = document.getElementById("wallet");
  if (!card) return;
  const $ = (id) => document.getElementById(id);
  const expectedChain = Number(card.dataset.chainId);
  const STORE = "riskgov.wallet";
  const DELEGATE_SELECTOR = "0x5c19a95c"; // GovToken.delegate(address)
  let provider = null;
  let account = null;
  let govToken = null;
  const signedInAddress = card.dataset.signedIn === "1" ? card.dataset.sessionAddress || "" : "";
  const sameAddress = (a, b) => Boolean(a && b) && a.toLowerCase() === b.toLowerCase();

  function say(text, kind) {
    const box = $("wallet-message");
    box.textContent = text || "";
    box.className = "wallet-message" + (kind ? " wallet-" + kind : "");
  }
  function csrf() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : card.dataset.csrf || "";
  }
  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      // every API refuses with {"error": {"code", "message", "field"}}
      const refusal = data.error || {};
      const error = new Error(refusal.message || "request failed (HTTP " + response.status + ")");
      error.status = response.status;
      error.refusal = refusal.code;
      error.field = refusal.field;
      error.data = data;
      throw error;
    }
    return data;
  }
  function utf8ToHex(text) {
    return "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function hexToUtf8(hex) {
    if (!/^0x[0-9a-f]*$/i.test(hex)) return hex;
    const bytes = new Uint8Array((hex.length - 2) / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 + 2 * i, 2), 16);
    return new TextDecoder().decode(bytes);
  }
  function short(address) {
    return address ? address.slice(0, 6) + "…" + address.slice(-4) : "";
  }
  function walletError(error) {
    if (error && error.code === 4001) return "You rejected the request in your wallet.";
    return (error && error.message) || String(error);
  }

  // The demo wallet: an EIP-1193 provider whose keys live on the server (demo mode only).
  function demoProvider(address) {
    return {
      isDemoWallet: true,
      async request({ method, params }) {
        switch (method) {
          case "eth_requestAccounts":
          case "eth_accounts":
            return [address];
          case "eth_chainId":
            return "0x" + expectedChain.toString(16);
          case "personal_sign":
            return (await postJson(card.dataset.urlDemoSign, { address: params[1], method, payload: hexToUtf8(params[0]) })).signature;
          case "eth_signTypedData_v4":
            return (await postJson(card.dataset.urlDemoSign, { address: params[0], method, payload: params[1] })).signature;
          case "eth_sendTransaction":
            return (await postJson(card.dataset.urlDemoSend, { address: params[0].from, tx: params[0] })).tx_hash;
          default:
            throw new Error("The demo wallet does not support " + method);
        }
      },
    };
  }

  function show(id, visible) {
    const el = $(id);
    if (el) el.hidden = !visible;
  }

  async function refreshStatus() {
    const url = card.dataset.urlStatus + (account ? "?address=" + encodeURIComponent(account) : "");
    const data = await fetch(url, { credentials: "same-origin" }).then((r) => r.json());
    govToken = data.gov_token || null;
    const signedIn = card.dataset.signedIn === "1" && data.address && account && data.address.toLowerCase() === account.toLowerCase();
    let text = account ? (provider && provider.isDemoWallet ? "Demo wallet " : "Connected ") + account : "Not connected";
    if (signedIn) text = "Signed in as " + account;
    if (data.delegation) {
      const votes = Number(BigInt(data.delegation.votes) / 10n ** 16n) / 100;
      const balance = Number(BigInt(data.delegation.balance) / 10n ** 16n) / 100;
      text += " · " + votes.toLocaleString() + " votes · " + balance.toLocaleString() + " tokens";
      show("wallet-delegate", data.delegation.needs_delegation);
      if (data.delegation.needs_delegation) say("You hold tokens but have not delegated them, so they carry no votes yet. Delegate to yourself to vote on future proposals.", "warn");
    }
    if (signedInAddress && account && !sameAddress(signedInAddress, account)) {
      text = "Signed in as " + signedInAddress + " · votes are signed by the wallet's account " + account;
    }
    $("wallet-status").textContent = text;
    show("wallet-signin", Boolean(account) && !signedIn);
    show("wallet-signout", card.dataset.signedIn === "1");
    show("wallet-connect", !account);
    document.dispatchEvent(new CustomEvent("riskgov:wallet", { detail: { account, signedIn, provider } }));
  }

  async function connect(chosen, remember) {
    provider = chosen;
    try {
      const accounts = await provider.request({ method: "eth_requestAccounts" });
      const chain = parseInt(await provider.request({ method: "eth_chainId" }), 16);
      if (chain !== expectedChain) {
        account = null;
        show("wallet-switch", true);
        say("Your wallet is on chain " + chain + "; RiskGov governance runs on chain " + expectedChain + ". Switch networks to continue.", "error");
        return;
      }
      show("wallet-switch", false);
      account = accounts[0];
      sessionStorage.setItem(STORE, remember);
      say("");
      await refreshStatus();
    } catch (error) {
      say(walletError(error), "error");
    }
  }

  async function connectInjected() {
    if (!window.ethereum) {
      say(card.dataset.demo === "1"
        ? "No browser wallet found. Install one (e.g. MetaMask), or use the demo wallet below."
        : "No browser wallet found. Install an Ethereum wallet extension (e.g. MetaMask) to sign in and vote.", "error");
      return;
    }
    await connect(window.ethereum, "injected");
  }

  async function switchNetwork() {
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + expectedChain.toString(16) }] });
      await connect(provider, "injected");
    } catch (error) {
      say("Could not switch networks: " + walletError(error), "error");
    }
  }

  async function signIn() {
    try {
      const { message } = await postJson(card.dataset.urlMessage, { address: account });
      const signature = await provider.request({ method: "personal_sign", params: [utf8ToHex(message), account] });
      await postJson(card.dataset.urlVerify, { message, signature });
      say("Signed in.", "ok");
      window.location.reload();
    } catch (error) {
      say("Sign-in failed: " + walletError(error), "error");
    }
  }

  async function signOut() {
    await postJson(card.dataset.urlSignout, {});
    sessionStorage.removeItem(STORE);
    window.location.reload();
  }

  async function delegateToSelf() {
    try {
      if (provider.isDemoWallet) {
        const { tx_hash } = await postJson(card.dataset.urlDemoDelegate, { address: account });
        say("Delegated (transaction " + short(tx_hash) + "). Your votes count for proposals created from now on.", "ok");
      } else {
        if (!govToken) throw new Error("the governance token address is unknown");
        const data = DELEGATE_SELECTOR + account.slice(2).toLowerCase().padStart(64, "0");
        const tx = await provider.request({ method: "eth_sendTransaction", params: [{ from: account, to: govToken, data }] });
        say("Delegation sent (transaction " + short(tx) + "). Your votes appear once it is mined and indexed.", "ok");
      }
      setTimeout(refreshStatus, 1500);
    } catch (error) {
      say("Delegation failed: " + walletError(error), "error");
    }
  }

  async function castVote(box, support) {
    if (!account) {
      say("Connect a wallet first: your vote is a signature from the voting address.", "error");
      return;
    }
    const result = box.querySelector(".vote-result");
    // the ballot is the connected account's signature; signed in as another address, that address relays it
    const voter = account;
    try {
      // the reason is part of what is signed (ExtendedBallot): read it once, sign it, send exactly it
      const reason = (box.querySelector("textarea[name=reason]") || {}).value || "";
      const query = new URLSearchParams({ voter, support: String(support) });
      if (reason) query.set("reason", reason);
      const typed = await fetch(box.dataset.ballotUrl + "?" + query.toString()).then(async (r) => {
        const data = await r.json().catch(() => ({}));
        if (!r.ok) throw new Error((data.error && data.error.message) || "cannot build the ballot (HTTP " + r.status + ")");
        return data;
      });
      result.textContent = "Sign the ballot in your wallet…";
      const signature = await provider.request({ method: "eth_signTypedData_v4", params: [voter, JSON.stringify(typed)] });
      const vote = await postJson(box.dataset.voteUrl, {
        voter, support, nonce: typed.message.nonce, signature, reason,
        chain_id: typed.domain.chainId, verifying_contract: typed.domain.verifyingContract,
      });
      result.className = "vote-result ok";
      result.textContent = "Vote recorded with weight " + (Number(BigInt(vote.weight) / 10n ** 16n) / 100).toLocaleString() + ".";
      document.body.dispatchEvent(new Event("riskgov:voted"));
      setTimeout(() => window.location.reload(), 800);
    } catch (error) {
      result.className = "vote-result error";
      result.textContent = (error.status === 409 ? "Already voted: " : "Vote rejected: ") + walletError(error);
    }
  }

  // On-chain mode: the connected wallet sends propose / queue / execute to the Governor. The server builds the
  // transaction and simulates it from this account first; a call the chain would refuse is shown, not sent.
  async function onchainAction(button) {
    const section = document.getElementById("onchain");
    const result = document.getElementById("onchain-result");
    const action = button.dataset.onchainAction;
    if (!account) {
      result.className = "onchain-result small error";
      result.textContent = "Connect a wallet first: it sends the " + action + " transaction.";
      return;
    }
    try {
      const query = new URLSearchParams({ action, from: account });
      const response = await fetch(section.dataset.txUrl + "?" + query.toString(), { credentials: "same-origin" });
      const tx = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((tx.error && tx.error.message) || "cannot build the transaction (HTTP " + response.status + ")");
      if (tx.preflight.reverts) {
        result.className = "onchain-result small error";
        result.textContent = "The " + action + " transaction would revert on chain: " + tx.preflight.message;
        return;
      }
      result.className = "onchain-result small";
      result.textContent = "Confirm the " + action + " transaction in your wallet…";
      const hash = await provider.request({
        method: "eth_sendTransaction", params: [{ from: account, to: tx.to, data: tx.data, value: tx.value }],
      });
      result.textContent = "Sent (" + short(hash) + "); reading the chain…";
      if (action === "propose") await postJson(section.dataset.proposedUrl, { tx_hash: hash });
      else await postJson(section.dataset.refreshUrl, {});
      result.className = "onchain-result small ok";
      result.textContent = "Done: " + action + " is on chain (" + short(hash) + ").";
      setTimeout(() => window.location.reload(), 800);
    } catch (error) {
      result.className = "onchain-result small error";
      result.textContent = "The " + action + " transaction failed: " + walletError(error);
    }
  }

  async function loadDemoAccounts() {
    const select = $("demo-account");
    if (!select) return;
    const { accounts } = await fetch(card.dataset.urlDemoAccounts).then((r) => r.json());
    for (const item of accounts) {
      const option = document.createElement("option");
      option.value = item.address;
      option.textContent = "Dev account " + item.index + " · " + short(item.address);
      select.appendChild(option);
    }
    const signed = accounts.find((item) => sameAddress(item.address, signedInAddress));
    if (signed) select.value = signed.address; // the dropdown shows who is signed in, not dev account 0
  }

  $("wallet-connect").addEventListener("click", connectInjected);
  $("wallet-switch").addEventListener("click", switchNetwork);
  $("wallet-signin").addEventListener("click", signIn);
  $("wallet-signout").addEventListener("click", signOut);
  $("wallet-delegate").addEventListener("click", delegateToSelf);
  if ($("demo-use")) {
    $("demo-use").addEventListener("click", () => {
      const address = $("demo-account").value;
      connect(demoProvider(address), "demo:" + address);
    });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-vote]");
    if (button) castVote(button.closest(".vote-box"), Number(button.dataset.vote));
    const onchain = event.target.closest("[data-onchain-action]");
    if (onchain) onchainAction(onchain);
  });

  (async function restore() {
    if (card.dataset.demo === "1") await loadDemoAccounts();
    let remembered = sessionStorage.getItem(STORE) || "";
    const sessionAddress = card.dataset.sessionAddress;
    const demoSigned = card.dataset.demo === "1" && $("demo-account") && sameAddress($("demo-account").value, signedInAddress);
    if (demoSigned && !remembered) {
      remembered = "demo:" + $("demo-account").value; // a new tab signed in with a demo account: reconnect that one
    }
    if (remembered.startsWith("demo:") && card.dataset.demo === "1") {
      const address = remembered.slice(5);
      if ($("demo-account")) $("demo-account").value = address;
      await connect(demoProvider(address), remembered);
    } else if (remembered === "injected" && window.ethereum) {
      const accounts = await window.ethereum.request({ method: "eth_accounts" }).catch(() => []);
      if (accounts.length) await connect(window.ethereum, "injected");
    } else if (sessionAddress) {
      $("wallet-status").textContent = "Signed in as " + sessionAddress + " · connect your wallet to vote";
    }
    // a remembered wallet is reconnected (or not) by now: scripts and tests may act on the page
    document.documentElement.dataset.walletRestored = "1";
  })();
})();
