// The tasks as a React Flow graph: one node per task, one edge per context
// entry (dashed: a null context, every earlier task). Drawing an edge from a
// task's right handle to another's left handle adds the first to the second's
// context; deleting a selected edge (Delete or Backspace) removes the entry.
// EdgeAdder is the same without a pointer: two labelled selects and a button.
// Nodes can be dragged (or moved with the arrow keys once selected); the
// workflow has no field for positions, so the caller keeps the moved ones for
// as long as the page is open. The caller saves; the graph only reports.
// Nodes whose task a validation error names are outlined and list the
// messages.
import { useMemo, useState } from 'react';
import { Box, Button, MenuItem, TextField, Typography, useTheme } from '@mui/material';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { contextEdges, layout, type DraftTask } from './model';

export type Positions = Record<string, { x: number; y: number }>;

interface TaskNodeData extends Record<string, unknown> {
  index: number;
  taskKey: string;
  agent: string;
  problems: string[];
}

type TaskNode = Node<TaskNodeData, 'task'>;

function TaskNodeView({ data, isConnectable }: NodeProps<TaskNode>) {
  const theme = useTheme();
  const bad = data.problems.length > 0;
  return (
    <Box
      data-task={data.taskKey}
      data-invalid={bad ? 'true' : 'false'}
      sx={{
        width: 210,
        p: 1,
        borderRadius: 1,
        bgcolor: 'background.paper',
        color: 'text.primary',
        border: 2,
        borderColor: bad ? theme.palette.error.main : theme.palette.divider,
      }}
    >
      <Handle type="target" position={Position.Left} isConnectable={isConnectable} />
      <Typography variant="caption" component="div" sx={{ color: 'text.secondary' }}>
        Task {data.index + 1}
      </Typography>
      <Typography variant="body2" component="div" sx={{ fontWeight: 700, overflowWrap: 'anywhere' }}>
        {data.taskKey || '(no key)'}
      </Typography>
      <Typography variant="caption" component="div" sx={{ overflowWrap: 'anywhere' }}>
        {data.agent}
      </Typography>
      {bad && (
        <Typography
          variant="caption"
          component="div"
          role="note"
          title={data.problems.join('\n')}
          sx={{ color: 'error.main', overflowWrap: 'anywhere', display: '-webkit-box', WebkitLineClamp: 3, WebkitBoxOrient: 'vertical', overflow: 'hidden' }}
        >
          {data.problems.length === 1 ? '1 problem' : `${data.problems.length} problems`}: {data.problems.join('; ')}
        </Typography>
      )}
      <Handle type="source" position={Position.Right} isConnectable={isConnectable} />
    </Box>
  );
}

const nodeTypes = { task: TaskNodeView };

export function Graph({
  tasks,
  agentName,
  problems,
  editable,
  moved,
  onMove,
  onConnect,
  onDisconnect,
  onSelectTask,
}: {
  tasks: DraftTask[];
  agentName: (id: string) => string;
  problems: (index: number) => string[];
  editable: boolean;
  moved: Positions;
  onMove: (key: string, at: { x: number; y: number }) => void;
  onConnect: (source: string, target: string) => void;
  onDisconnect: (source: string, target: string) => void;
  onSelectTask: (index: number) => void;
}) {
  const theme = useTheme();
  const [selected, setSelected] = useState<string | null>(null);
  const [selectedNode, setSelectedNode] = useState<string | null>(null);
  const [dragging, setDragging] = useState<Positions>({});
  const positions = useMemo(() => layout(tasks), [tasks]);
  const nodes: TaskNode[] = tasks.map((t, i) => ({
    id: t.key,
    type: 'task',
    selected: t.key === selectedNode,
    position: dragging[t.key] ?? moved[t.key] ?? positions[t.key] ?? { x: 0, y: 0 },
    data: { index: i, taskKey: t.key, agent: t.agent_id ? agentName(t.agent_id) : 'no agent', problems: problems(i) },
    ariaLabel: `Task ${t.key}`,
  }));
  const edges: Edge[] = contextEdges(tasks).map((e) => ({
    id: e.id,
    source: e.source,
    target: e.target,
    selected: e.id === selected,
    deletable: editable,
    animated: false,
    markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18, color: theme.palette.text.secondary },
    style: { stroke: theme.palette.text.secondary, strokeWidth: 1.5, ...(e.implicit ? { strokeDasharray: '6 4' } : {}) },
    ariaLabel: `${e.target} gets the output of ${e.source}${e.implicit ? ' (every earlier task)' : ''}`,
    data: { implicit: e.implicit },
  }));

  function edgesChange(changes: EdgeChange[]) {
    for (const c of changes) if (c.type === 'select') setSelected(c.selected ? c.id : null);
  }

  // A drag moves the node here, frame by frame; where it ends (or where an
  // arrow key on a selected node puts it) goes to the caller, which keeps it.
  function nodesChange(changes: NodeChange<TaskNode>[]) {
    for (const c of changes) {
      if (c.type === 'position') {
        const at = c.position ?? dragging[c.id];
        if (c.dragging && at) setDragging((d) => ({ ...d, [c.id]: at }));
        else if (!c.dragging) {
          if (at) onMove(c.id, at);
          setDragging((d) => Object.fromEntries(Object.entries(d).filter(([k]) => k !== c.id)));
        }
      } else if (c.type === 'select') setSelectedNode((cur) => (c.selected ? c.id : cur === c.id ? null : cur));
    }
  }

  return (
    <Box
      role="group"
      aria-label="Task graph"
      sx={{
        height: 340,
        border: 1,
        borderColor: 'divider',
        borderRadius: 1,
        // A task or edge reached by Tab shows it (React Flow's own styles give none).
        '& .react-flow__node.selectable:focus-visible, & .react-flow__edge.selectable:focus-visible': {
          outline: `2px solid ${theme.palette.primary.main}`,
          outlineOffset: 2,
        },
        '& .react-flow__edge.selectable:focus-visible .react-flow__edge-path': { stroke: theme.palette.primary.main, strokeWidth: 3 },
      }}
      data-testid="task-graph"
    >
      <ReactFlow
        key={tasks.length /* a task added or removed: fit the view again */}
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        colorMode={theme.palette.mode}
        nodesDraggable
        onNodesChange={nodesChange}
        nodesConnectable={editable}
        edgesFocusable
        deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
        onEdgesChange={edgesChange}
        onEdgesDelete={(del) => del.forEach((e) => onDisconnect(e.source, e.target))}
        onConnect={(c: Connection) => onConnect(c.source, c.target)}
        onNodeClick={(_, n) => onSelectTask((n.data as TaskNodeData).index)}
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </Box>
  );
}

// Adding a context edge without a pointer: the task whose output is given,
// the task that gets it, and a button; the caller connects and saves as for
// a drawn edge. The client's checks (the same task twice, an edge already
// there) show beside the fields; the server's (a forward context) on the
// task's context field and node, as for a drawn edge.
export function EdgeAdder({ tasks, onAdd }: { tasks: DraftTask[]; onAdd: (source: string, target: string) => void }) {
  const keys = tasks.map((t) => t.key).filter((k) => k !== '');
  const [source, setSource] = useState('');
  const [target, setTarget] = useState('');
  const [errs, setErrs] = useState<{ source?: string; target?: string }>({});
  if (keys.length < 2) return null;

  function add() {
    const e: { source?: string; target?: string } = {};
    if (!keys.includes(source)) e.source = 'Choose the task whose output is given';
    if (!keys.includes(target)) e.target = 'Choose the task that gets it';
    else if (source === target) e.target = 'A task cannot be its own context';
    else {
      const t = tasks.find((x) => x.key === target);
      if (t?.context?.includes(source)) e.target = `${target}’s context already holds ${source}`;
    }
    setErrs(e);
    if (e.source || e.target) return;
    onAdd(source, target);
  }

  const select = (label: string, name: string, value: string, set: (v: string) => void, err: string | undefined, help: string) => (
    <TextField
      select
      size="small"
      label={label}
      name={name}
      value={value}
      onChange={(ev) => {
        set(ev.target.value);
        setErrs({});
      }}
      error={!!err}
      helperText={err ?? help}
      sx={{ minWidth: 240 }}
    >
      {keys.map((k) => (
        <MenuItem key={k} value={k}>
          {k}
        </MenuItem>
      ))}
    </TextField>
  );
  return (
    <Box
      component="form"
      aria-label="Add a context edge"
      sx={{ display: 'flex', gap: 2, alignItems: 'flex-start', mt: 1, flexWrap: 'wrap' }}
      onSubmit={(ev) => {
        ev.preventDefault();
        add();
      }}
    >
      {select('Context from', 'edge.source', source, setSource, errs.source, 'The task whose output is given')}
      {select('To task', 'edge.target', target, setTarget, errs.target, 'The task that gets it (saved at once)')}
      <Button type="submit" variant="outlined" sx={{ mt: 0.25 }}>
        Add context edge
      </Button>
    </Box>
  );
}
