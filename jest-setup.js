// SPDX-License-Identifier: Apache-2.0
// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no IntersectionObserver; @grafana/ui's scroll indicators (inside
// every Select menu) construct one. Nothing in our tests depends on it firing.
class IntersectionObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
Object.assign(global, { IntersectionObserver: IntersectionObserverStub });
