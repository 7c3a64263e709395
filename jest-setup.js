// SPDX-License-Identifier: Apache-2.0
// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';
