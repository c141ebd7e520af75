// The data every test starts from, inserted through the API as the administrator.

import { ApiClient } from './server.js';

export const USERS = [
  ['admin', 'admin', 'Ada Admin'],
  ['alice', 'clerk', 'Alice Clerk'],
  ['bob', 'clerk', 'Bob Clerk'],
];

export const CITIES = ['Berlin', 'Lisbon', 'Oslo', 'Paris', 'Rome'];

export async function seed(url) {
  const admin = new ApiClient(url);
  await admin.login('admin');
  const customers = ['Anna Smith', 'Andrew Jones', 'Bella Brown', 'Carlos Diaz', 'Dana White', 'Erik Olsen', 'Fatima Khan', 'Giulia Rossi']
    .map((name, i) => ({ name, city: CITIES[i % CITIES.length], email: `${name.split(' ')[0].toLowerCase()}@example.com` }));
  await admin.insert('customers', customers);
  // 60 products: Widget 01 … Widget 60, prices 1.50 … 90.00, stock 1 … 60.
  const products = Array.from({ length: 60 }, (_, i) => ({
    name: `Widget ${String(i + 1).padStart(2, '0')}`,
    price: Math.round((i + 1) * 1.5 * 100) / 100,
    stock: i + 1,
    active: i % 4 !== 3,
    added: `2025-0${(i % 9) + 1}-1${i % 10}`,
  }));
  products.push({ name: 'Gadget Pro', price: 249.99, stock: 3, active: true, added: '2025-03-01' });
  await admin.insert('products', products);
  await admin.insert('tags', [{ name: 'urgent' }, { name: 'gift' }, { name: 'wholesale' }]);
  return admin;
}
