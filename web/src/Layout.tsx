import { Suspense, useEffect, useRef, useState } from 'react';
import { AppBar, Box, Button, FormControl, IconButton, InputLabel, Menu, MenuItem, Select, Toolbar, Typography } from '@mui/material';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { NavLink, Outlet, useNavigate } from 'react-router-dom';
import { api, type Schemas } from './api/client';
import { clearSession, getSession, setWorkspace } from './session';
import { useSession } from './App';
import type { Mode } from './theme';
import { Loading } from './ui';

export function useWorkspaces() {
  return useQuery({
    queryKey: ['workspaces'],
    queryFn: async () => {
      const { data, error } = await api.GET('/api/v1/workspaces');
      if (error) throw error;
      return data.items;
    },
  });
}

// The caller's role in the selected workspace (null until known).
export function useRole(): Schemas['Workspace']['role'] | undefined {
  const { workspaceId } = useSession();
  const { data } = useWorkspaces();
  return data?.find((w) => w.id === workspaceId)?.role;
}

// The account menu: the profile page and signing out.
function AccountMenu({ onSignOut }: { onSignOut: () => void }) {
  const anchor = useRef<HTMLButtonElement>(null);
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button
        ref={anchor}
        id="account-button"
        color="inherit"
        aria-haspopup="menu"
        aria-controls={open ? 'account-menu' : undefined}
        aria-expanded={open}
        onClick={() => setOpen(true)}
        sx={{ whiteSpace: 'nowrap', flexShrink: 0 }}
      >
        Account
      </Button>
      <Menu
        id="account-menu"
        anchorEl={anchor.current}
        open={open}
        onClose={() => setOpen(false)}
        MenuListProps={{ 'aria-labelledby': 'account-button' }}
      >
        <MenuItem component={NavLink} to="/profile" onClick={() => setOpen(false)}>
          Profile
        </MenuItem>
        <MenuItem
          onClick={() => {
            setOpen(false);
            onSignOut();
          }}
        >
          Sign out
        </MenuItem>
      </Menu>
    </>
  );
}

// The first Tab stop: moves the focus past the header to the page.
function SkipLink() {
  return (
    <Box
      component="a"
      href="#main"
      onClick={(e: React.MouseEvent) => {
        e.preventDefault();
        document.getElementById('main')?.focus();
      }}
      sx={{
        position: 'absolute',
        left: 8,
        top: -48,
        zIndex: (t) => t.zIndex.tooltip,
        p: 1,
        bgcolor: 'background.paper',
        color: 'primary.main',
        borderRadius: 1,
        '&:focus': { top: 8, outline: '2px solid', outlineColor: 'primary.main' },
      }}
    >
      Skip to content
    </Box>
  );
}

export function Layout({ mode, onToggleMode }: { mode: Mode; onToggleMode: () => void }) {
  const { workspaceId } = useSession();
  const { data: workspaces } = useWorkspaces();
  const qc = useQueryClient();
  const navigate = useNavigate();

  useEffect(() => {
    const first = workspaces?.find((w) => w.personal) ?? workspaces?.[0];
    // None yet, or one kept from before this reload that is no longer ours.
    if (first && !workspaces?.some((w) => w.id === workspaceId)) setWorkspace(first.id);
  }, [workspaceId, workspaces]);

  async function signOut() {
    await api.POST('/api/v1/auth/logout');
    clearSession();
    qc.clear();
    navigate('/signin', { replace: true });
  }

  function switchWorkspace(id: string) {
    setWorkspace(id);
    void qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'workspaces' });
  }

  return (
    <Box sx={{ minHeight: '100vh' }}>
      <SkipLink />
      <AppBar position="static" color="default" elevation={1}>
        <Toolbar sx={{ gap: 2 }}>
          <Typography component="span" variant="h6" sx={{ fontWeight: 700 }}>
            troupe
          </Typography>
          {/* Six pages, the switcher and two buttons fit one line at 1280 px. */}
          <Box
            component="nav"
            aria-label="Main"
            sx={{ display: 'flex', gap: 0.5, flexGrow: 1, '& .MuiButton-root': { minWidth: 0, px: 1 } }}
          >
            <Button component={NavLink} to="/models" color="inherit">
              Models
            </Button>
            <Button component={NavLink} to="/tools" color="inherit">
              Tools
            </Button>
            <Button component={NavLink} to="/agents" color="inherit">
              Agents
            </Button>
            <Button component={NavLink} to="/workflows" color="inherit">
              Workflows
            </Button>
            <Button component={NavLink} to="/executions" color="inherit">
              Executions
            </Button>
            <Button component={NavLink} to="/admin" color="inherit">
              Administration
            </Button>
          </Box>
          {workspaces && getSession().workspaceId && (
            // As wide as the workspace's name up to 320 px; a longer one is
            // cut with an ellipsis and given whole in the title.
            <FormControl size="small" sx={{ minWidth: 200, maxWidth: 320, flexShrink: 0 }}>
              <InputLabel id="ws-label">Workspace</InputLabel>
              <Select
                labelId="ws-label"
                label="Workspace"
                value={workspaceId ?? ''}
                onChange={(e) => switchWorkspace(e.target.value)}
                renderValue={(v) => {
                  const name = workspaces.find((w) => w.id === v)?.name ?? '';
                  return <span title={name}>{name}</span>;
                }}
              >
                {workspaces.map((w) => (
                  <MenuItem key={w.id} value={w.id}>
                    {w.name}
                  </MenuItem>
                ))}
              </Select>
            </FormControl>
          )}
          {/* A glyph, named for screen readers and in the title: the words left the
              workspace's name no room at 1280 px. */}
          <IconButton
            color="inherit"
            onClick={onToggleMode}
            aria-label={`${mode === 'light' ? 'Dark' : 'Light'} theme`}
            title={`${mode === 'light' ? 'Dark' : 'Light'} theme`}
            sx={{ flexShrink: 0, fontSize: 20, width: 40, height: 40 }}
          >
            {mode === 'light' ? '☾' : '☀'}
          </IconButton>
          <AccountMenu onSignOut={() => void signOut()} />
        </Toolbar>
      </AppBar>
      <Box component="main" id="main" tabIndex={-1} sx={{ p: 3, maxWidth: 1200, mx: 'auto', '&:focus': { outline: 'none' } }}>
        <Suspense fallback={<Loading label="Loading the page" />}>
          <Outlet />
        </Suspense>
      </Box>
    </Box>
  );
}
