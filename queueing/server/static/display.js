// The display board: numbers called at each counter, the last calls, and a highlighted, announced new call.
//
// It must run for weeks unattended and never show a stale board without saying so. The EventSource reconnects by
// itself after network errors; when the server answers with an error the browser gives up (readyState CLOSED), so
// this page then opens a new one with back-off. The server sends a status snapshot every 10 s: silence for
// STALE_MS means the connection is dead even if the socket looks open, so the board is dimmed, the banner shown
// and a new connection opened.
"use strict";

const STALE_MS = 25000;
const BANNER_AFTER_MS = 4000;   // EventSource reconnects quietly after a stream ends; only longer gaps are shown
const CALL_SHOW_MS = 7000;
const FRESH_MS = 10000;
const MAX_BACKOFF_MS = 30000;

const $ = id => document.getElementById(id);
let source = null;
let lastMessageAt = 0;
let lostSince = null;
let backoffMs = 1000;
let callQueue = [];
let showingCall = false;
let audio = null;
let lastSnapshot = null;
let lastReloadDay = new Date().getDate();
const fresh = new Map();  // counter → time of its last call, for highlighting
const startedAt = Date.now();  // before the first message, silence counts from page load (no banner while loading)

function connect() {
  if (source) source.close();
  source = new EventSource("/api/events");
  source.addEventListener("open", () => { backoffMs = 1000; });
  source.addEventListener("status", event => { heard(); render(JSON.parse(event.data)); });
  source.addEventListener("call", event => { heard(); onCall(JSON.parse(event.data)); });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(connect, backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  });
}

function heard() {
  lastMessageAt = Date.now();
  lostSince = null;
  $("offline").classList.add("hidden");
  document.body.classList.remove("stale");
}

function watchdog() {
  const silentMs = Date.now() - (lastMessageAt || startedAt);
  const open = source && source.readyState === EventSource.OPEN;
  if ((!open && silentMs > BANNER_AFTER_MS) || silentMs > STALE_MS) {
    if (lostSince === null) lostSince = new Date(lastMessageAt || Date.now());
    $("offline-since").textContent = lastMessageAt ? "(cập nhật lần cuối " + hhmmss(lostSince) + ")" : "";
    $("offline").classList.remove("hidden");
    document.body.classList.add("stale");
    if (open && silentMs > STALE_MS) connect();  // the socket looks open but nothing arrives: start over
  }
}

function render(snapshot) {
  if (snapshot.title) $("title").textContent = snapshot.title;
  const names = Object.fromEntries(snapshot.services.map(s => [s.code, s.name_vi]));
  $("counters").replaceChildren(...snapshot.counters.map(c => {
    const shown = c.current || c.last;
    const isFresh = fresh.has(c.counter) && Date.now() - fresh.get(c.counter) < FRESH_MS;
    return el("div", { class: "tile" + (shown ? "" : " idle") + (isFresh ? " fresh" : "") },
      el("div", { class: "label" }, "Quầy " + c.counter),
      el("div", { class: "number" }, shown ? shown.number : "–"),
      el("div", { class: "service" }, shown ? (names[shown.service] || shown.service) : ""));
  }));
  $("last-calls").replaceChildren(...snapshot.last_calls.map(call =>
    el("li", {}, el("span", {}, call.number), el("span", {}, "Quầy " + call.counter))));
  const text = snapshot.announcements.join("   •   ");
  if ($("ticker").textContent !== text) $("ticker").textContent = text;
  lastSnapshot = snapshot;
}

function onCall(call) {
  fresh.set(call.counter, Date.now());
  if (lastSnapshot) {
    const entry = lastSnapshot.counters.find(c => c.counter === call.counter);
    if (entry) { entry.current = { number: call.number, service: call.service, state: "called" }; }
    lastSnapshot.last_calls = [call, ...lastSnapshot.last_calls].slice(0, 10);
    render(lastSnapshot);
  }
  callQueue.push(call);
  if (!showingCall) showNextCall();
}

function showNextCall() {
  const call = callQueue.shift();
  if (!call) { showingCall = false; $("call").classList.add("hidden"); return; }
  showingCall = true;
  $("call-number").textContent = call.number;
  $("call-counter").textContent = call.counter;
  $("call").classList.remove("hidden");
  chime().then(() => speak(call));
  setTimeout(showNextCall, CALL_SHOW_MS);
}

function chime() {
  // Two soft tones made in the browser: nothing is fetched, nothing leaves the building.
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") { $("sound").classList.remove("hidden"); return Promise.resolve(); }
    const now = audio.currentTime;
    [[880, 0], [660, 0.45]].forEach(([freq, at]) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + at);
      gain.gain.exponentialRampToValueAtTime(0.4, now + at + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.8);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + at);
      osc.stop(now + at + 0.85);
    });
    return new Promise(resolve => setTimeout(resolve, 1300));
  } catch (err) {
    return Promise.resolve();
  }
}

function localVietnameseVoice() {
  // Only a voice installed on this machine (e.g. espeak-ng through speech-dispatcher): never a cloud voice.
  if (!("speechSynthesis" in window)) return null;
  return speechSynthesis.getVoices().find(v => v.localService && v.lang.toLowerCase().startsWith("vi")) || null;
}

function speak(call) {
  // The server's own espeak-ng voice first (works on any TV); else a Vietnamese voice installed on this machine.
  fetch("/api/announce.wav?number=" + encodeURIComponent(call.number) + "&counter=" + call.counter)
    .then(r => r.ok ? r.blob() : Promise.reject(r.status))
    .then(blob => new Audio(URL.createObjectURL(blob)).play())
    .catch(() => speakLocally(call));
}

function speakLocally(call) {
  const voice = localVietnameseVoice();
  if (!voice) return;
  const spelled = call.number.split("").join(" ");  // "A012" → "A 0 1 2", read one sign at a time
  const utterance = new SpeechSynthesisUtterance("Mời công dân có số " + spelled + " đến quầy số " + call.counter);
  utterance.voice = voice;
  utterance.lang = voice.lang;
  utterance.rate = 0.9;
  speechSynthesis.speak(utterance);
}

function tick() {
  const now = new Date();
  $("clock").textContent = hhmmss(now).slice(0, 5);
  $("date").textContent = now.toLocaleDateString("vi-VN", { weekday: "long", day: "2-digit", month: "2-digit", year: "numeric" });
  watchdog();
  // Once a night reload the page (fresh memory after weeks), but only when the server answers: a reload while
  // it is down would leave the browser's own error page on the screen.
  if (now.getHours() === 3 && now.getDate() !== lastReloadDay) {
    lastReloadDay = now.getDate();
    api("/health", { timeoutMs: 3000 }).then(() => location.reload()).catch(() => {});
  }
}

$("sound").addEventListener("click", () => {
  if (audio) audio.resume();
  $("sound").classList.add("hidden");
});
connect();
tick();
setInterval(tick, 1000);
