// Shared helpers of the branch queue pages: JSON calls with a bounded timeout, and Vietnamese time formats.
"use strict";

class ApiError extends Error {
  // retryAfter: seconds from a 429's Retry-After header (0 when none)
  constructor(status, code, message, retryAfter = 0) {
    super(message); this.status = status; this.code = code; this.retryAfter = retryAfter;
  }
}

async function api(path, options = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs || 8000);
  const headers = { "Accept": "application/json" };
  if (options.token) headers["Authorization"] = "Bearer " + options.token;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await fetch(path, {
      method: options.method || (options.body !== undefined ? "POST" : "GET"), headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined, signal: controller.signal,
      cache: "no-store",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new ApiError(response.status, data.code || "", data.error || response.statusText,
                         Number(response.headers.get("Retry-After")) || 0);
    }
    return data;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(0, "offline", "Không kết nối được máy chủ");
  } finally {
    clearTimeout(timer);
  }
}

function hhmm(iso) {
  const d = new Date(iso);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

function hhmmss(date) {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map(n => String(n).padStart(2, "0")).join(":");
}

function minutesText(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const minutes = Math.round(seconds / 60);
  return minutes < 1 ? "dưới 1 phút" : "khoảng " + minutes + " phút";
}

function mmss(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child === null || child === undefined ? "" : child);
  return node;
}
