// Drives the official Node SDK (rongcloud-sdk 3.1.1) against the emulator, one case per run:
//   node drive_sdk.js <node_modules dir> <base url> <app key> <app secret> <case>
// Prints {"result": ...} (what the SDK resolved with) or {"rejected": ...} as one JSON line.
'use strict';
const [modules, api, appkey, secret, name] = process.argv.slice(2);
const sdk = require(require.resolve('rongcloud-sdk', { paths: [modules] }));
const { Group, Chatroom } = sdk({ appkey, secret, api }).Message;

const text = { content: 'hello' };
const group = (fields) =>
  Group.send({ senderId: 'u1', targetId: 'g1', objectName: 'RC:TxtMsg', content: text, ...fields });
const rooms = (count) => Array.from({ length: count }, (_, i) => `c${i + 1}`);
const chatroom = (count) =>
  Chatroom.send({ senderId: 'u1', targetId: rooms(count), objectName: 'RC:TxtMsg', content: text });

const cases = {
  group1: () => group({}),
  group2: () => group({ targetId: ['g1', 'g2'] }),
  group3: () => group({ targetId: ['g1', 'g2', 'g3'] }),
  directed: () => group({ toUserId: ['u2', 'u3'] }),
  pushExt: () =>
    group({ pushExt: JSON.stringify({ title: 'T', pushConfigs: [{ HW: { channelId: 'c' } }] }) }),
  expansion: () => group({ expansion: true, extraContent: JSON.stringify({ k: 'v' }) }),
  mention: () =>
    Group.sendMention({
      senderId: 'u1',
      targetId: 'g1',
      objectName: 'RC:TxtMsg',
      content: { content: '@u2 hi', mentionedInfo: { type: 2, userIds: ['u2'] } },
    }),
  chatroom1: () => chatroom(1),
  chatroom10: () => chatroom(10),
  chatroom11: () => chatroom(11),
};

cases[name]().then(
  (result) => console.log(JSON.stringify({ result })),
  (error) => console.log(JSON.stringify({ rejected: String((error && error.msg) || error) }))
);
