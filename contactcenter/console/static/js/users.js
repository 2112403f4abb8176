// Usuarios (admins): the accounts of the team. Create (the generated password is shown once),
// rename, change the role, disable or enable, reset the password. The platform decides
// (POST/PATCH /api/access/users); this screen only asks and says what happened.

import {ApiError, OfflineError, getJSON, patchJSON, postJSON, session} from './api.js';
import {loadPeople} from './people.js';
import {alertError, askForm, clear, confirmAction, h, toast} from './ui.js';

const ROLES = [['agent', 'Agente'], ['staff', 'Staff'], ['central', 'Central'], ['admin', 'Administración']];
const ROLE_NAME = Object.fromEntries(ROLES);

export function renderUsers(container) {
  const created = h('div', {id: 'password-notice', role: 'status', 'aria-live': 'polite'});
  const list = h('div', {class: 'table-wrap'});
  const form = newUserForm();
  container.append(h('section', {class: 'users', 'aria-labelledby': 'users-title'},
    h('h1', {id: 'users-title'}, 'Usuarios'),
    h('p', {class: 'hint'}, 'Quién puede ingresar a la consola y con qué rol. Deshabilitar a alguien cierra sus sesiones al instante.'),
    h('div', {class: 'users-grid'}, form, h('div', {class: 'users-list'}, created, list))));
  load();

  async function load() {
    try {
      render(await getJSON('/api/access/users'));
    } catch (error) {
      alertError(error.message, error instanceof OfflineError ? load : null);
    }
  }

  /** The password the platform generated: shown here once, for the admin to hand over. */
  function showPassword(user, password) {
    clear(created);
    if (!password) return;
    created.append(h('div', {class: 'notice password'},
      h('p', {}, h('strong', {}, `Contraseña de ${user.name} (${user.id}): `),
        h('code', {class: 'secret'}, password)),
      h('p', {}, 'Se muestra solo esta vez: copiala y entregásela en persona. Al ingresar puede pedir que se la cambien.'),
      h('button', {type: 'button', class: 'small secondary', onclick: () => clear(created)}, 'Ya la copié')));
  }

  function newUserForm() {
    const field = (name, label, input, hint) => h('div', {class: 'field'},
      h('label', {for: `new-${name}`}, label), input,
      hint ? h('p', {class: 'hint', id: `new-${name}-hint`}, hint) : null,
      h('p', {class: 'field-error', id: `new-${name}-error`, hidden: true}));
    const inputs = {
      id: h('input', {id: 'new-id', name: 'id', required: true, autocomplete: 'off', spellcheck: 'false',
        'aria-describedby': 'new-id-hint new-id-error'}),
      name: h('input', {id: 'new-name', name: 'name', required: true, autocomplete: 'off',
        'aria-describedby': 'new-name-error'}),
      role: h('select', {id: 'new-role', name: 'role'}, ROLES.map(([v, l]) => h('option', {value: v}, l))),
      password: h('input', {id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password',
        'aria-describedby': 'new-password-hint new-password-error'}),
    };
    const box = h('form', {class: 'card users-new', novalidate: true, 'aria-labelledby': 'new-user-title'},
      h('h2', {id: 'new-user-title'}, 'Nuevo usuario'),
      field('id', 'Usuario (para ingresar)', inputs.id, 'Minúsculas sin acentos, números, punto o guion: luis, ana.gomez.'),
      field('name', 'Nombre y apellido', inputs.name),
      field('role', 'Rol', inputs.role),
      field('password', 'Contraseña (opcional)', inputs.password, 'Vacía: se genera una y se muestra una sola vez.'),
      h('button', {type: 'submit'}, 'Crear usuario'));
    box.addEventListener('submit', async (event) => {
      event.preventDefault();
      for (const name of Object.keys(inputs)) {
        document.getElementById(`new-${name}-error`).hidden = true;
        inputs[name].removeAttribute('aria-invalid');
      }
      const body = {id: inputs.id.value.trim(), name: inputs.name.value.trim(), role: inputs.role.value};
      if (inputs.password.value) body.password = inputs.password.value;
      const missing = ['id', 'name'].filter((k) => !body[k]);
      if (missing.length) {
        for (const k of missing) fieldError(k, 'Este dato es obligatorio.');
        inputs[missing[0]].focus();
        return;
      }
      try {
        const answer = await postJSON('/api/access/users', body);
        box.reset();
        toast(`Usuario ${answer.user.id} creado.`);
        showPassword(answer.user, answer.password);
        await Promise.all([load(), loadPeople()]);
      } catch (error) {
        const fields = error instanceof ApiError ? error.fields : {};
        const known = Object.keys(fields).filter((k) => inputs[k]);
        if (known.length) {
          for (const k of known) fieldError(k, fields[k].replace(/^[^:]+: /, ''));
          inputs[known[0]].focus();
        } else {
          alertError(error.message);
        }
      }
    });

    function fieldError(name, text) {
      const error = document.getElementById(`new-${name}-error`);
      error.textContent = text;
      error.hidden = false;
      inputs[name].setAttribute('aria-invalid', 'true');
    }
    return box;
  }

  function render(users) {
    clear(list).append(h('table', {},
      h('caption', {class: 'sr-only'}, 'Usuarios'),
      h('thead', {}, h('tr', {},
        ['Nombre', 'Usuario', 'Rol', 'Estado', 'Acciones'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', {}, users.map((u) => h('tr', {class: u.active ? '' : 'inactive', dataset: {user: u.id}},
        h('td', {}, u.name),
        h('td', {}, h('code', {}, u.id)),
        h('td', {}, ROLE_NAME[u.role] || u.role),
        h('td', {}, u.active ? 'Activo' : 'Deshabilitado'),
        h('td', {}, h('div', {class: 'row-actions'}, actions(u))))))));
  }

  function actions(user) {
    const self = user.id === session.user;
    return [
      h('button', {type: 'button', class: 'small secondary', 'aria-label': `Cambiar el rol de ${user.name}`,
        onclick: () => changeRole(user)}, 'Cambiar rol'),
      h('button', {type: 'button', class: 'small secondary', 'aria-label': `Restablecer la contraseña de ${user.name}`,
        onclick: () => resetPassword(user)}, 'Restablecer contraseña'),
      user.active
        ? (self ? null : h('button', {type: 'button', class: 'small danger', 'aria-label': `Deshabilitar a ${user.name}`,
          onclick: () => setActive(user, false)}, 'Deshabilitar'))
        : h('button', {type: 'button', class: 'small', 'aria-label': `Habilitar a ${user.name}`,
          onclick: () => setActive(user, true)}, 'Habilitar'),
    ];
  }

  async function change(user, body, done) {
    try {
      await patchJSON(`/api/access/users/${encodeURIComponent(user.id)}`, body);
      toast(done);
      await Promise.all([load(), loadPeople()]);
    } catch (error) {
      alertError(error.message);
    }
  }

  async function changeRole(user) {
    const values = await askForm({
      title: `Cambiar el rol de ${user.name}`,
      intro: 'Sus sesiones abiertas se cierran: vuelve a ingresar con el rol nuevo.',
      fields: [{name: 'role', label: 'Rol nuevo', type: 'select', value: user.role, options: ROLES}],
      submit: 'Cambiar rol',
    });
    if (!values || values.role === user.role) return;
    await change(user, {role: values.role}, `${user.name} ahora es ${ROLE_NAME[values.role].toLowerCase()}.`);
  }

  async function setActive(user, active) {
    if (!active) {
      const ok = await confirmAction(`Deshabilitar a ${user.name}`,
        'No podrá ingresar y sus sesiones se cierran ahora. Las conversaciones que tiene siguen a su nombre hasta que alguien las reasigne.',
        'Deshabilitar', true);
      if (!ok) return;
    }
    await change(user, {active}, active ? `${user.name} está habilitado.` : `${user.name} está deshabilitado.`);
  }

  async function resetPassword(user) {
    const values = await askForm({
      title: `Restablecer la contraseña de ${user.name}`,
      intro: 'Sus sesiones abiertas se cierran. Dejala vacía para generar una (se muestra una sola vez).',
      fields: [{name: 'password', label: 'Contraseña nueva (opcional)', type: 'password'}],
      submit: 'Restablecer',
    });
    if (!values) return;
    try {
      const answer = await postJSON(`/api/access/users/${encodeURIComponent(user.id)}/password`,
        values.password ? {password: values.password} : {});
      toast(`Contraseña de ${user.name} restablecida.`);
      showPassword(answer.user, answer.password);
    } catch (error) {
      alertError(error.message);
    }
  }
}
